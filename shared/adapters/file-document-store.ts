// A DocumentStore that survives process crashes (kill -9) and restarts, for the local host.
//
// On disk, per store directory:
//   journal.jsonl         one line per committed mutation: {"seq":n,"m":<mutation>}\n, the lines of
//                         one write (or of one createMany) written with one writeSync (and fsync'd,
//                         unless turned off) before the write is acknowledged or visible;
//   snapshot.json         the whole state as of some seq: a header line, then one line per
//                         document, so its size is not bounded by a JavaScript string's; only
//                         ever renamed into place whole;
//   journal.sealed.jsonl  while a background compaction runs, the journal it folds into the next
//                         snapshot; writes go on meanwhile in a fresh journal.jsonl;
//   owner.pid             the pid of the process that has the directory open;
//   snapshot.json.*.tmp, journal.sealed.jsonl.*.retired, journal.next.jsonl
//                         a snapshot being written, a sealed journal already folded in and a fresh
//                         journal not yet in use, left only by a crash; removed on open.
// Opening loads the snapshot and replays the sealed journal, then the journal, skipping lines
// whose seq the snapshot already holds (a crash between a snapshot's rename and the journal's
// truncation or removal leaves such lines). A crash can leave only the last line torn (JSON never
// contains a raw newline, so a partial write cannot end one); it is cut off on open. A sealed
// journal found on open is a compaction a crash cut short: it is finished there and then.
//
// Compaction runs on a worker thread, from the files, so its cost (which grows with everything the
// store holds) never stalls the thread serving requests; only the worker's finished snapshot is
// renamed into place, by the store's own thread.
//
// One process at a time: opening a directory whose owner process is still alive fails. (A second
// open from the same process is allowed; that is how tests simulate a restart after a crash.)

import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DocumentTable, type Mutation } from './document-table.js';
import type { CompactionJob, CompactionResult } from './file-store-compactor.js';
import {
  fsyncDirectory,
  isLeftover,
  JOURNAL,
  loadSnapshot,
  NEXT_JOURNAL,
  OWNER,
  replayJournal,
  retiredJournalName,
  SEALED_JOURNAL,
  SNAPSHOT,
  writeFully,
  writeSnapshot,
  type JournalRecord,
} from './file-store-files.js';
import { TableDocumentStore } from './table-document-store.js';
import { workerModuleUrl } from '../worker-module.js';

export interface FileDocumentStoreOptions {
  /** Compact once the journal holds this many lines (and more lines than live items). */
  compactAfterRecords?: number;
  /** fsync every write (default). Turning it off keeps crash safety, not power-loss safety. */
  fsync?: boolean;
}

interface BackgroundCompaction {
  worker: Worker;
  temporary: string;
  /** The sealed journal this compaction reads; a different file there means it was superseded. */
  sealedInode: number;
  done: Promise<void>;
  settle: () => void;
}

export class FileDocumentStore extends TableDocumentStore {
  private fd: number | undefined;
  private compaction: BackgroundCompaction | undefined;

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
    for (const name of readdirSync(directory)) if (isLeftover(name)) rmSync(join(directory, name), { force: true, recursive: true });
    const { table, seq: snapshotSeq } = loadSnapshot(join(directory, SNAPSHOT));
    const sealedPath = join(directory, SEALED_JOURNAL);
    const cutShort = existsSync(sealedPath);
    const sealed = replayJournal(sealedPath, table, snapshotSeq);
    const journal = replayJournal(join(directory, JOURNAL), table, sealed.lastSeq);
    const fd = openSync(join(directory, JOURNAL), 'a');
    fsyncDirectory(directory);
    const store = new FileDocumentStore(
      table,
      directory,
      fd,
      journal.lastSeq,
      journal.records,
      journal.bytes,
      options.compactAfterRecords ?? 10_000,
      options.fsync ?? true,
    );
    if (cutShort) store.compact();
    return store;
  }

  /** Writes the whole state to the snapshot and empties the journal, now, on this thread. */
  compact(): void {
    const fd = this.openFd();
    this.abandonCompaction();
    const temporary = join(this.directory, `${SNAPSHOT}.tmp`);
    writeSnapshot(temporary, this.table, this.seq, this.fsync);
    renameSync(temporary, join(this.directory, SNAPSHOT));
    this.syncDirectory();
    rmSync(join(this.directory, SEALED_JOURNAL), { force: true });
    ftruncateSync(fd, 0);
    if (this.fsync) fsyncSync(fd);
    this.journalRecords = 0;
    this.journalBytes = 0;
  }

  /** Settles once no background compaction is running (finished, failed or abandoned). */
  async whenCompacted(): Promise<void> {
    await this.compaction?.done;
  }

  /** Releases the journal and the directory; the store cannot be used afterwards. */
  close(): void {
    if (this.fd === undefined) return;
    this.abandonCompaction();
    closeSync(this.fd);
    this.fd = undefined;
    releaseOwnership(this.directory);
  }

  protected override commit(mutation: Mutation): void {
    this.commitMany([mutation]);
  }

  /** One journal write for all the lines: a large job's task documents go to disk in a few calls, not one each. */
  protected override commitMany(mutations: readonly Mutation[]): void {
    if (mutations.length === 0) return;
    const fd = this.openFd();
    let text = '';
    for (let i = 0; i < mutations.length; i++) {
      const record: JournalRecord = { seq: this.seq + 1 + i, m: mutations[i]! };
      text += `${JSON.stringify(record)}\n`;
    }
    const lines = Buffer.from(text, 'utf8');
    try {
      writeFully(fd, lines);
      if (this.fsync) fsyncSync(fd);
    } catch (error) {
      // Cut off whatever part of the lines made it, so the next line does not glue onto it.
      ftruncateSync(fd, this.journalBytes);
      throw error;
    }
    this.seq += mutations.length;
    this.journalRecords += mutations.length;
    this.journalBytes += lines.length;
    super.commitMany(mutations);
    if (!this.compaction && this.journalRecords >= this.compactAfterRecords && this.journalRecords > this.table.itemCount()) {
      try {
        this.compactInBackground();
      } catch {
        // The write itself is done and must be answered as done; the next write tries again.
      }
    }
  }

  /**
   * Seals the journal and starts a worker that folds it into a new snapshot. A sealed journal
   * still there (a compaction that failed) is folded in here, on this thread, instead.
   */
  private compactInBackground(): void {
    const compactor = workerModuleUrl(import.meta.url, './file-store-compactor.js', '../../dist/shared/adapters/file-store-compactor.js');
    const sealedPath = join(this.directory, SEALED_JOURNAL);
    if (!compactor || existsSync(sealedPath)) {
      this.compact();
      return;
    }
    this.sealJournal(sealedPath);
    this.journalRecords = 0;
    this.journalBytes = 0;

    const sealedInode = statSync(sealedPath).ino;
    const job: CompactionJob = { directory: this.directory, temporary: `${SNAPSHOT}.${this.seq}.tmp`, fsync: this.fsync };
    let settle!: () => void;
    const done = new Promise<void>((resolve) => (settle = resolve));
    // None of the process's own Node options: the worker needs none, and some (--input-type) would stop it loading.
    const worker = new Worker(compactor, { workerData: job, execArgv: [] });
    // A process may exit in the middle of a compaction: that is a crash it survives.
    worker.unref();
    const running: BackgroundCompaction = { worker, temporary: job.temporary, sealedInode, done, settle };
    this.compaction = running;
    worker.once('message', (result: CompactionResult) => this.finishCompaction(running, result));
    worker.once('error', (error) => this.finishCompaction(running, { ok: false, error: error.message }));
    worker.once('exit', () => this.finishCompaction(running, { ok: false, error: 'the compaction worker exited without a result' }));
  }

  /**
   * Renames the journal to `sealedPath` and carries on in a fresh one. The fresh file is made
   * first, so a failure (too many open files, say) leaves the journal as it was.
   */
  private sealJournal(sealedPath: string): void {
    const journalPath = join(this.directory, JOURNAL);
    const nextPath = join(this.directory, NEXT_JOURNAL);
    const nextFd = openSync(nextPath, 'w');
    try {
      renameSync(journalPath, sealedPath);
      try {
        renameSync(nextPath, journalPath);
      } catch (error) {
        renameSync(sealedPath, journalPath);
        throw error;
      }
    } catch (error) {
      closeSync(nextFd);
      rmSync(nextPath, { force: true });
      throw error;
    }
    const sealedFd = this.openFd();
    this.fd = nextFd;
    closeSync(sealedFd);
    // The fresh journal's name must be durable before a write in it is acknowledged.
    this.syncDirectory();
  }

  private finishCompaction(running: BackgroundCompaction, result: CompactionResult): void {
    if (this.compaction !== running) return;
    this.compaction = undefined;
    const temporary = join(this.directory, running.temporary);
    const sealedPath = join(this.directory, SEALED_JOURNAL);
    let removal: Promise<void> = Promise.resolve();
    try {
      if (result.ok && this.fd !== undefined && inodeOf(sealedPath) === running.sealedInode) {
        renameSync(temporary, join(this.directory, SNAPSHOT));
        this.syncDirectory();
        // Freeing a large file takes milliseconds: out of the way first, then removed off this thread.
        const retired = join(this.directory, retiredJournalName(result.seq));
        renameSync(sealedPath, retired);
        removal = unlink(retired).catch(() => undefined);
      }
    } catch {
      // Any failure leaves the sealed journal in place: a restart replays it, and the next
      // compaction folds it in on this thread.
    }
    removeQuietly(temporary);
    void removal.then(running.settle);
  }

  /** Stops a background compaction; its unfinished snapshot is removed once the worker is gone. */
  private abandonCompaction(): void {
    const running = this.compaction;
    if (!running) return;
    this.compaction = undefined;
    void running.worker
      .terminate()
      .catch(() => undefined)
      .then(() => {
        removeQuietly(join(this.directory, running.temporary));
        running.settle();
      });
  }

  /** Renames and new names survive a power loss only once their directory is fsync'd; a process crash needs nothing. */
  private syncDirectory(): void {
    if (this.fsync) fsyncDirectory(this.directory);
  }

  private openFd(): number {
    if (this.fd === undefined) throw new Error(`file document store at ${this.directory} is closed`);
    return this.fd;
  }
}

/** A leftover temporary file is harmless (the next open removes it); failing to remove one is not an error. */
function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true, recursive: true });
  } catch {
    // left for the next open
  }
}

function inodeOf(path: string): number | undefined {
  try {
    return statSync(path).ino;
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
