// The file document store's compaction worker thread: folds the sealed journal into the snapshot
// and writes the result to a temporary file, off the store's thread, which may be serving
// requests. The store renames the file into place itself (file-document-store.ts), so every
// change to what a restart would read happens on the store's thread, in order with its writes.
import { join } from 'node:path';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { loadSnapshot, replayJournal, SEALED_JOURNAL, SNAPSHOT, writeSnapshot } from './file-store-files.js';

export interface CompactionJob {
  directory: string;
  /** Where to write the new snapshot, inside `directory`. */
  temporary: string;
  /** The store's fsync setting. */
  fsync: boolean;
}

export type CompactionResult = { ok: true; seq: number } | { ok: false; error: string };

if (isMainThread || !parentPort) throw new Error('file-store-compactor runs only as the worker a FileDocumentStore starts');
const { directory, temporary, fsync } = workerData as CompactionJob;
let result: CompactionResult;
try {
  const { table, seq: snapshotSeq } = loadSnapshot(join(directory, SNAPSHOT));
  const { lastSeq } = replayJournal(join(directory, SEALED_JOURNAL), table, snapshotSeq);
  writeSnapshot(join(directory, temporary), table, lastSeq, fsync);
  result = { ok: true, seq: lastSeq };
} catch (err) {
  result = { ok: false, error: err instanceof Error ? err.message : String(err) };
}
parentPort.postMessage(result);
