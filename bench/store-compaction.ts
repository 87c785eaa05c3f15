// Benchmark: what the local host's file document store's compaction costs the requests it serves.
// A store holding N task documents (real ones, from job submissions) is compacted while a writer
// keeps replacing one document, yielding to the event loop between writes as a server does. The
// reference is compaction on the store's own thread (what the store did before), side by side
// with compaction on a worker thread (what it does now). Printed per N: the longest a write waited
// (its turn on the event loop plus the write), how long compaction took until the new snapshot was
// in place, and how many writes were acknowledged meanwhile.
//   npm run build && node dist/bench/store-compaction.js      (BENCH_ITEMS=10000,50000,200000 by default)
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileDocumentStore } from '../shared/adapters/file-document-store.js';
import { jobKey, toTaskDoc, type TaskDoc } from '../shared/app/documents.js';
import { newStoredTask } from '../shared/batch/model.js';
import { validateJobSubmission } from '../shared/batch/validate.js';

const sizes = (process.env.BENCH_ITEMS ?? '10000,50000,200000').split(',').map(Number);
/** Writes go on this long after compaction ends, so the slowest write is inside the window either way. */
const AFTER_MS = 200;
const JOB_TASKS = 1000;

interface Measured {
  longestWriteMs: number;
  compactionMs: number;
  writesDuring: number;
}

type Mode = 'store thread' | 'worker' | { none: number };

async function main(): Promise<void> {
  console.log('items    | compaction on the store thread (before)   | on a worker thread (now)                     | no compaction');
  console.log('         | longest write wait, compaction time       | longest write wait, its time, writes during  | longest write wait');
  for (const items of sizes) {
    const filled = mkdtempSync(path.join(os.tmpdir(), 'fnbatch-bench-compaction-'));
    try {
      process.stderr.write(`filling a store with ${items} task documents...\n`);
      await fill(filled, items);
      // Each mode compacts its own copy of the same store.
      const before = await measure(copyOf(filled), 'store thread');
      const now = await measure(copyOf(filled), 'worker');
      const floor = await measure(copyOf(filled), { none: now.compactionMs });
      console.log(
        `${String(items).padEnd(8)} | ${ms(before.longestWriteMs)}, ${ms(before.compactionMs)}`.padEnd(53) +
          `| ${ms(now.longestWriteMs)}, ${ms(now.compactionMs)}, ${now.writesDuring}`.padEnd(47) +
          `| ${ms(floor.longestWriteMs)}`,
      );
    } finally {
      rmSync(filled, { recursive: true, force: true });
    }
  }
}

function copyOf(directory: string): string {
  const copy = `${directory}-copy`;
  rmSync(copy, { recursive: true, force: true });
  cpSync(directory, copy, { recursive: true });
  return copy;
}

/** Writes `items` task documents, in jobs of a thousand, the way submissions do, with no compaction. */
async function fill(directory: string, items: number): Promise<void> {
  const store = await FileDocumentStore.open(directory, { compactAfterRecords: Number.MAX_SAFE_INTEGER, fsync: false });
  const docs = await store.container<TaskDoc>('tasks', '/jobId');
  const at = new Date().toISOString();
  for (let first = 0; first < items; first += JOB_TASKS) {
    const { job, tasks } = validateJobSubmission({
      id: `bench-job-${first / JOB_TASKS}`,
      poolInfo: { poolId: 'p' },
      usesTaskDependencies: true,
      tasks: Array.from({ length: Math.min(JOB_TASKS, items - first) }, (_, i) => ({
        id: `task-${i}`,
        commandLine: `/bin/sh -c "render --frame ${first + i} --out frames/${first + i}.png"`,
        environmentSettings: [{ name: 'FRAME', value: String(first + i) }],
        ...(i > 0 ? { dependsOn: { taskIds: [`task-${i - 1}`] } } : {}),
      })),
    });
    for (const task of tasks) await docs.create(toTaskDoc(job.id, newStoredTask(task, at)));
  }
  store.close();
}

/**
 * Reopens the store and compacts it while writing. Reopened with a threshold of one line, the
 * store's first write starts a background compaction (its journal already holds more lines than
 * items); the reference instead calls compact() at that moment with no threshold reached.
 */
async function measure(directory: string, mode: Mode): Promise<Measured> {
  const store = await FileDocumentStore.open(directory, {
    compactAfterRecords: mode === 'worker' ? 1 : Number.MAX_SAFE_INTEGER,
    fsync: false,
  });
  const docs = await store.container<TaskDoc>('tasks', '/jobId');
  let current = (await docs.query(jobKey('bench-job-0'), { limit: 1 })).items[0]!;
  const write = async () => {
    current = await docs.replace(current.item, { ifMatch: current.etag });
  };
  const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

  let longestWriteMs = 0;
  let writesDuring = 0;
  let compacting = true;
  let compactionMs = 0;
  const began = performance.now();
  const compacted = () => {
    compactionMs = performance.now() - began;
    compacting = false;
  };
  if (mode === 'store thread') {
    setImmediate(() => {
      store.compact();
      compacted();
    });
  } else if (mode === 'worker') {
    await write();
    void store.whenCompacted().then(compacted);
  } else {
    // The floor: the same writes for as long as the worker's compaction took, with none.
    setTimeout(compacted, mode.none);
  }
  let endAt = Number.POSITIVE_INFINITY;
  for (;;) {
    const asked = performance.now();
    await yieldTurn();
    await write();
    longestWriteMs = Math.max(longestWriteMs, performance.now() - asked);
    if (compacting) writesDuring++;
    else if (endAt === Number.POSITIVE_INFINITY) endAt = performance.now() + AFTER_MS;
    if (performance.now() >= endAt) break;
  }
  store.close();
  rmSync(directory, { recursive: true, force: true });
  return { longestWriteMs, compactionMs, writesDuring };
}

function ms(value: number): string {
  return `${value.toFixed(1)} ms`;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
