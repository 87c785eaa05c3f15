// Benchmark: submitting one very large job to the local host, and what a user asks next. A job of
// N tasks (a binary tree of dependencies, about 80 bytes of JSON per task) goes to a pool with no
// nodes, so nothing runs; printed are the POST /jobs answer time, the longest wait of another
// request made meanwhile, the first page of its task list and its task counts (which read every
// task). State is in a data folder, as `fnbatch host` keeps it.
//   npm run build && node dist/bench/large-submission.js      (BENCH_TASKS=100000 by default)
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { startHost } from '../local-host/host.js';

/** Times GETs one after another until told to stop, then answers with when each was sent and how long it took. */
const PROBE = `
const { parentPort, workerData } = require('node:worker_threads');
const times = [];
let stopping = false;
parentPort.on('message', () => (stopping = true));
(async () => {
  parentPort.postMessage('ready');
  while (!stopping) {
    const started = performance.now();
    const response = await fetch(workerData.url, { headers: { 'x-functions-key': workerData.key } });
    await response.text();
    times.push({ at: performance.timeOrigin + started, ms: performance.now() - started });
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  parentPort.postMessage(times);
})();
`;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const tasks = Number(process.env.BENCH_TASKS ?? 100_000);
const AFTER_MS = 3_000;

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fnbatch-bench-submission-'));
  const host = await startHost({ appDir: repoRoot, port: 0, dataDir, functionLogs: false, log: { info: () => {}, warn: () => {}, error: (m) => console.error(m) } });
  try {
    const call = async (method: string, route: string, body?: string): Promise<number> => {
      const started = performance.now();
      const response = await fetch(`${host.baseUrl}/api/${route}`, {
        method,
        headers: { 'x-functions-key': host.keys.functionKey, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body }),
      });
      const text = await response.text();
      if (response.status >= 400) throw new Error(`${method} ${route}: ${response.status} ${text.slice(0, 300)}`);
      return performance.now() - started;
    };
    await call('POST', 'pools', JSON.stringify({ id: 'bench-submission', vmSize: 'local', targetDedicatedNodes: 0, taskSlotsPerNode: 8 }));
    const body = JSON.stringify({
      id: 'bench-large-job',
      poolInfo: { poolId: 'bench-submission' },
      usesTaskDependencies: true,
      tasks: Array.from({ length: tasks }, (_, i) => ({
        id: `t${i}`,
        commandLine: `/bin/sh -c "echo ${i}"`,
        ...(i > 0 ? { dependsOn: { taskIds: [`t${Math.floor((i - 1) / 2)}`] } } : {}),
      })),
    });
    process.stderr.write(`submitting ${tasks} tasks (${(body.length / 1e6).toFixed(1)} MB)...\n`);
    // Another user's requests go on meanwhile: how long does one wait while the submission is
    // written, and for a while after (the job's first advance reads every task)? Asked from a
    // thread of its own, whose timing the host's event loop cannot hold up.
    const prober = new Worker(PROBE, { eval: true, workerData: { url: `${host.baseUrl}/api/pools/bench-submission`, key: host.keys.functionKey } });
    await once(prober, 'message');
    const submitMs = await call('POST', 'jobs', body);
    const answeredAt = performance.timeOrigin + performance.now();
    const pageMs = await call('GET', 'jobs/bench-large-job/tasks?maxresults=1000');
    const countsMs = await call('GET', 'jobs/bench-large-job/taskcounts');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, answeredAt + AFTER_MS - (performance.timeOrigin + performance.now()))));
    prober.postMessage('stop');
    const [probes] = (await once(prober, 'message')) as [{ at: number; ms: number }[]];
    const during = probes.filter((p) => p.at < answeredAt).map((p) => p.ms);
    const after = probes.filter((p) => p.at >= answeredAt).map((p) => p.ms);
    console.log(`job of ${tasks} tasks, ${(body.length / 1e6).toFixed(1)} MB`);
    console.log(`  POST /jobs answered          ${(submitMs / 1000).toFixed(2)} s`);
    console.log(`  a GET /pools/{id} meanwhile  at most ${(Math.max(0, ...during) / 1000).toFixed(2)} s   (${during.length} made during the POST)`);
    console.log(`  and in the ${AFTER_MS / 1000} s after it     at most ${(Math.max(0, ...after) / 1000).toFixed(2)} s   (${after.length} made)`);
    console.log(`  first page of its tasks      ${(pageMs / 1000).toFixed(2)} s   (GET .../tasks?maxresults=1000, right after)`);
    console.log(`  its task counts              ${(countsMs / 1000).toFixed(2)} s   (GET .../taskcounts, every task read)`);
  } finally {
    await host.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
