// The file document store's files, read and written the same way by the store and by its
// compaction worker. Layout and crash reasoning are in file-document-store.ts.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import type { DocumentItem } from '../ports/document-store.js';
import { DocumentTable, type Mutation, type TableEntry, type TableHeader } from './document-table.js';

export interface JournalRecord {
  seq: number;
  m: Mutation;
}

/**
 * The snapshot's first line: format 2 is followed by one line per document, so a snapshot of any
 * size is written and read a line at a time (one JSON string for the whole state, as format 1
 * was, cannot exceed V8's limit of about 512 MB).
 */
interface SnapshotHeader extends TableHeader {
  format: 2;
  seq: number;
}

interface SnapshotLine {
  c: string;
  pk: string;
  etag: string;
  item: DocumentItem;
}

/** Format 1, from before: the whole state as one JSON document. Still read. */
interface SnapshotFileV1 {
  format: 1;
  seq: number;
  table: {
    version: number;
    containers: Record<string, { partitionKeyPath: string; entries: Array<{ pk: string; etag: string; item: DocumentItem }> }>;
  };
}

/** Snapshot lines are gathered into writes of about this many characters. */
const WRITE_CHUNK_CHARS = 1 << 20;

export const JOURNAL = 'journal.jsonl';
/** The journal a background compaction is folding into the snapshot; writes go on in a fresh JOURNAL. */
export const SEALED_JOURNAL = 'journal.sealed.jsonl';
/** The fresh journal, made before the journal is sealed and renamed to JOURNAL after. */
export const NEXT_JOURNAL = 'journal.next.jsonl';
export const SNAPSHOT = 'snapshot.json';
export const OWNER = 'owner.pid';

/** A sealed journal a finished compaction folded in, renamed so that removing it can wait. */
export function retiredJournalName(seq: number): string {
  return `${SEALED_JOURNAL}.${seq}.retired`;
}

/**
 * Left behind by a crash and safe to remove on open: a snapshot still being written (only a whole
 * one is ever renamed to SNAPSHOT), a retired journal, or a fresh journal not yet in use.
 */
export function isLeftover(name: string): boolean {
  return (
    (name.startsWith(`${SNAPSHOT}.`) && name.endsWith('.tmp')) ||
    (name.startsWith(`${SEALED_JOURNAL}.`) && name.endsWith('.retired')) ||
    name === NEXT_JOURNAL
  );
}

export function loadSnapshot(path: string): { table: DocumentTable; seq: number } {
  if (!existsSync(path)) return { table: new DocumentTable(), seq: 0 };
  // The snapshot only ever appears whole (rename), so a parse failure here is real corruption.
  const content = readFileSync(path);
  const lines = linesOf(content);
  const first = lines.next();
  const head = (first.done ? {} : parseLine(first.value, path)) as SnapshotHeader | SnapshotFileV1;
  if (head.format === 1) {
    const containers = Object.entries(head.table.containers);
    const header: TableHeader = { version: head.table.version, containers: Object.fromEntries(containers.map(([name, c]) => [name, c.partitionKeyPath])) };
    const entries = containers.flatMap(([container, c]) => c.entries.map((e) => ({ container, ...e })));
    return { table: DocumentTable.restore(header, entries), seq: head.seq };
  }
  if (head.format !== 2) throw new Error(`unknown snapshot format in ${path}`);
  const entries = (function* (): Generator<TableEntry> {
    for (const line of lines) {
      const { c, pk, etag, item } = parseLine(line, path) as SnapshotLine;
      yield { container: c, pk, etag, item };
    }
  })();
  return { table: DocumentTable.restore({ version: head.version, containers: head.containers }, entries), seq: head.seq };
}

/**
 * Writes the table as of `seq` to `path`, a line at a time, for the caller to rename into place.
 * With `fsync` it is on disk first, so the rename cannot outlive its content in a power loss.
 */
export function writeSnapshot(path: string, table: DocumentTable, seq: number, fsync: boolean): void {
  const fd = openSync(path, 'w');
  try {
    const header: SnapshotHeader = { format: 2, seq, ...table.header() };
    let chunk = `${JSON.stringify(header)}\n`;
    for (const { container, pk, etag, item } of table.entries()) {
      const line: SnapshotLine = { c: container, pk, etag, item };
      chunk += `${JSON.stringify(line)}\n`;
      if (chunk.length >= WRITE_CHUNK_CHARS) {
        writeFully(fd, Buffer.from(chunk, 'utf8'));
        chunk = '';
      }
    }
    writeFully(fd, Buffer.from(chunk, 'utf8'));
    if (fsync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Regular files take the whole buffer in one write; the loop is for the odd short write. */
export function writeFully(fd: number, bytes: Buffer): void {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written);
}

/** The file's lines (without their newlines), empty ones skipped. */
function* linesOf(content: Buffer): Generator<Buffer> {
  let start = 0;
  while (start < content.length) {
    const newline = content.indexOf(0x0a, start);
    const end = newline === -1 ? content.length : newline;
    if (end > start) yield content.subarray(start, end);
    start = end + 1;
  }
}

function parseLine(line: Buffer, path: string): unknown {
  try {
    return JSON.parse(line.toString('utf8'));
  } catch {
    throw new Error(`document store snapshot ${path} is corrupt`);
  }
}

/**
 * Applies the journal's records above `afterSeq` to the table. A torn last line (a crash in the
 * middle of its write) is cut off; a bad line before the last is corruption and throws.
 */
export function replayJournal(path: string, table: DocumentTable, afterSeq: number): { lastSeq: number; records: number; bytes: number } {
  let lastSeq = afterSeq;
  if (!existsSync(path)) return { lastSeq, records: 0, bytes: 0 };
  const content = readFileSync(path);
  let records = 0;
  let goodBytes = 0;
  let start = 0;
  while (start < content.length) {
    const newline = content.indexOf(0x0a, start);
    const end = newline === -1 ? content.length : newline + 1;
    const record = parseRecord(content.subarray(start, newline === -1 ? content.length : newline));
    if (!record || newline === -1) {
      if (end < content.length) throw new Error(`document store journal ${path} is corrupt at byte ${start}`);
      break; // the torn tail of a write cut short by a crash
    }
    if (record.seq > lastSeq) {
      table.apply(record.m);
      lastSeq = record.seq;
    }
    records += 1;
    goodBytes = end;
    start = end;
  }
  if (goodBytes < content.length) truncateSync(path, goodBytes);
  return { lastSeq, records, bytes: goodBytes };
}

function parseRecord(line: Buffer): JournalRecord | undefined {
  try {
    const record = JSON.parse(line.toString('utf8')) as JournalRecord;
    return typeof record?.seq === 'number' && typeof record.m?.op === 'string' ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Makes a rename or a new file's name durable; not supported (and not needed) on Windows. */
export function fsyncDirectory(directory: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
