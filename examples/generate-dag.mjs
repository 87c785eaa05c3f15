#!/usr/bin/env node
// Writes dag-1000.json: a random DAG of 1,000 short sleeps. The seed is fixed, so running this
// again reproduces the committed file byte for byte (a test checks that).
//   node examples/generate-dag.mjs [--out FILE]
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SEED = 20240601;
const TASKS = 1000;
const ROOTS = 20;
const MAX_DEPENDENCIES = 3;
/** Share of tasks that depend on a range of ids (Batch's taskIdRanges) instead of single ids. */
const RANGE_SHARE = 0.1;
const MAX_RANGE_LENGTH = 10;
const RECENT_WINDOW = 250;

/** mulberry32: a small seeded generator, so the file does not depend on Math.random. */
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function buildDag(seed = SEED) {
  const random = generator(seed);
  const below = (n) => Math.floor(random() * n);
  const tasks = [];
  for (let i = 1; i <= TASKS; i++) {
    // 10 to 50 ms: short enough that the whole DAG runs in seconds on a small pool.
    const task = { id: String(i), commandLine: `sleep 0.0${1 + below(5)}` };
    if (i > ROOTS) {
      if (random() < RANGE_SHARE) {
        const length = 1 + below(MAX_RANGE_LENGTH);
        const start = 1 + below(i - length);
        task.dependsOn = { taskIdRanges: [{ start, end: start + length - 1 }] };
      } else {
        const ids = new Set();
        const wanted = 1 + below(MAX_DEPENDENCIES);
        // Among the last RECENT_WINDOW tasks: about 25 levels deep, wide enough to keep a small pool busy.
        while (ids.size < wanted) ids.add(String(Math.max(1, i - 1 - below(Math.min(i - 1, RECENT_WINDOW)))));
        task.dependsOn = { taskIds: [...ids].sort((a, b) => Number(a) - Number(b)) };
      }
    }
    tasks.push(task);
  }
  return {
    id: 'dag-1000',
    displayName: `A random DAG of ${TASKS} short sleeps (examples/generate-dag.mjs, seed ${SEED})`,
    poolInfo: { poolId: 'demo' },
    usesTaskDependencies: true,
    onAllTasksComplete: 'terminatejob',
    tasks,
  };
}

export function dagJson(seed = SEED) {
  return JSON.stringify(buildDag(seed), null, 1) + '\n';
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outIndex = process.argv.indexOf('--out');
  const out = outIndex > 0 ? process.argv[outIndex + 1] : path.join(path.dirname(fileURLToPath(import.meta.url)), 'dag-1000.json');
  writeFileSync(out, dagJson());
  process.stdout.write(`wrote ${out}\n`);
}
