// The file document store's files, read and written the same way by the store and by its
// compaction worker. Layout and crash reasoning are in file-document-store.ts.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { DocumentTable, type Mutation, type TableSnapshot } from './document-table.js';

export interface JournalRecord {
  seq: number;
  m: Mutation;
}

interface SnapshotFile {
  format: 1;
  seq: number;
  table: TableSnapshot;
}

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
  const snapshot = JSON.parse(readFileSync(path, 'utf8')) as SnapshotFile;
  if (snapshot.format !== 1) throw new Error(`unknown snapshot format in ${path}`);
  return { table: DocumentTable.fromSnapshot(snapshot.table), seq: snapshot.seq };
}

/**
 * Writes the table as of `seq` to `path`, for the caller to rename into place. With `fsync` it is
 * on disk first, so the rename cannot outlive its content in a power loss.
 */
export function writeSnapshot(path: string, table: DocumentTable, seq: number, fsync: boolean): void {
  const snapshot: SnapshotFile = { format: 1, seq, table: table.snapshot() };
  writeFileSync(path, JSON.stringify(snapshot));
  if (!fsync) return;
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
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
