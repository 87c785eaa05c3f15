// A DocumentStore that survives process crashes (kill -9) and restarts, for the local host.
//
// On disk, per store directory:
//   journal.jsonl   one line per committed mutation: {"seq":n,"m":<mutation>}\n, each written with
//                   one writeSync and fsync'd before the write is acknowledged or visible;
//   snapshot.json   the whole state as of some seq, written to a temp file, fsync'd and renamed
//                   into place by compaction, after which the journal is truncated;
//   owner.pid       the pid of the process that has the directory open.
// Opening loads the snapshot and replays journal lines with a higher seq. A crash can leave only
// the last line torn (JSON never contains a raw newline, so a partial write cannot end one); it is
// cut off on open. A crash between the snapshot's rename and the journal's truncation leaves lines
// the snapshot already holds; their seq says to skip them.
//
// One process at a time: opening a directory whose owner process is still alive fails. (A second
// open from the same process is allowed; that is how tests simulate a restart after a crash.)

import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { DocumentTable, type Mutation, type TableSnapshot } from './document-table.js';
import { TableDocumentStore } from './table-document-store.js';

export interface FileDocumentStoreOptions {
  /** Compact once the journal holds this many lines (and more lines than live items). */
  compactAfterRecords?: number;
  /** fsync every write (default). Turning it off keeps crash safety, not power-loss safety. */
  fsync?: boolean;
}

interface JournalRecord {
  seq: number;
  m: Mutation;
}

interface SnapshotFile {
  format: 1;
  seq: number;
  table: TableSnapshot;
}

const JOURNAL = 'journal.jsonl';
const SNAPSHOT = 'snapshot.json';
const OWNER = 'owner.pid';

export class FileDocumentStore extends TableDocumentStore {
  private fd: number | undefined;

  private constructor(
    table: DocumentTable,
    private readonly directory: string,
    fd: number,
    private seq: number,
    private journalRecords: number,
    private journalBytes: number,
    private readonly compactAfterRecords: number,
    private readonly fsync: boolean,
  ) {
    super(table);
    this.fd = fd;
  }

  static async open(directory: string, options: FileDocumentStoreOptions = {}): Promise<FileDocumentStore> {
    mkdirSync(directory, { recursive: true });
    claimOwnership(directory);
    const { table, seq: snapshotSeq } = loadSnapshot(join(directory, SNAPSHOT));
    const journal = replayJournal(join(directory, JOURNAL), table, snapshotSeq);
    const fd = openSync(join(directory, JOURNAL), 'a');
    fsyncDirectory(directory);
    return new FileDocumentStore(
      table,
      directory,
      fd,
      journal.lastSeq,
      journal.records,
      journal.bytes,
      options.compactAfterRecords ?? 10_000,
      options.fsync ?? true,
    );
  }

  /** Writes the whole state to the snapshot and empties the journal. */
  compact(): void {
    const fd = this.openFd();
    const snapshot: SnapshotFile = { format: 1, seq: this.seq, table: this.table.snapshot() };
    const temporary = join(this.directory, `${SNAPSHOT}.tmp`);
    writeFileSync(temporary, JSON.stringify(snapshot));
    const tempFd = openSync(temporary, 'r+');
    try {
      fsyncSync(tempFd);
    } finally {
      closeSync(tempFd);
    }
    renameSync(temporary, join(this.directory, SNAPSHOT));
    fsyncDirectory(this.directory);
    ftruncateSync(fd, 0);
    fsyncSync(fd);
    this.journalRecords = 0;
    this.journalBytes = 0;
  }

  /** Releases the journal and the directory; the store cannot be used afterwards. */
  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    releaseOwnership(this.directory);
  }

  protected override commit(mutation: Mutation): void {
    const fd = this.openFd();
    const seq = this.seq + 1;
    const record: JournalRecord = { seq, m: mutation };
    const line = Buffer.from(`${JSON.stringify(record)}\n`, 'utf8');
    try {
      let written = writeSync(fd, line);
      // Regular files take the whole buffer in one write; the loop is for the odd short write.
      while (written < line.length) written += writeSync(fd, line, written);
      if (this.fsync) fsyncSync(fd);
    } catch (error) {
      // Cut off whatever part of the line made it, so the next line does not glue onto it.
      ftruncateSync(fd, this.journalBytes);
      throw error;
    }
    this.seq = seq;
    this.journalRecords += 1;
    this.journalBytes += line.length;
    super.commit(mutation);
    if (this.journalRecords >= this.compactAfterRecords && this.journalRecords > this.table.itemCount()) {
      this.compact();
    }
  }

  private openFd(): number {
    if (this.fd === undefined) throw new Error(`file document store at ${this.directory} is closed`);
    return this.fd;
  }
}

function loadSnapshot(path: string): { table: DocumentTable; seq: number } {
  if (!existsSync(path)) return { table: new DocumentTable(), seq: 0 };
  // The snapshot only ever appears whole (rename), so a parse failure here is real corruption.
  const snapshot = JSON.parse(readFileSync(path, 'utf8')) as SnapshotFile;
  if (snapshot.format !== 1) throw new Error(`unknown snapshot format in ${path}`);
  return { table: DocumentTable.fromSnapshot(snapshot.table), seq: snapshot.seq };
}

function replayJournal(
  path: string,
  table: DocumentTable,
  snapshotSeq: number,
): { lastSeq: number; records: number; bytes: number } {
  let lastSeq = snapshotSeq;
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

function claimOwnership(directory: string): void {
  const path = join(directory, OWNER);
  if (existsSync(path)) {
    const owner = Number(readFileSync(path, 'utf8').trim());
    if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) {
      throw new Error(`document store ${directory} is open in another process (pid ${owner})`);
    }
  }
  writeFileSync(path, String(process.pid));
}

function releaseOwnership(directory: string): void {
  const path = join(directory, OWNER);
  try {
    if (readFileSync(path, 'utf8').trim() === String(process.pid)) rmSync(path, { force: true });
  } catch {
    // already gone
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Makes a rename or a new file's name durable; not supported (and not needed) on Windows. */
function fsyncDirectory(directory: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
