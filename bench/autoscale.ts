// Benchmark: how fast an autoscaled pool reacts to work, on the local host with the local node
// provider (agent processes). An empty pool with the pending-tasks formula from Batch's autoscale
// article and a 15-minute evaluation interval gets a job; we time submission -> first resize
// decision (the pool's targets rise) and submission -> target capacity (that many nodes running),
// and print them beside Batch's documented minimum of 5 minutes between evaluations.
//   npm run build && node dist/bench/autoscale.js      (BENCH_NODES=4 BENCH_TASKS=40 by default)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHost, type RunningHost } from '../local-host/host.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const nodes = Number(process.env.BENCH_NODES ?? 4);
const tasks = Number(process.env.BENCH_TASKS ?? 40);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const BATCH_MIN_INTERVAL_MS = 5 * 60_000;

const formula = `$samples = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 15);
$tasks = $samples < 70 ? max(0,$PendingTasks.GetSample(1)) : max( $PendingTasks.GetSample(1), avg($PendingTasks.GetSample(TimeInterval_Minute * 15)));
$targetVMs = $tasks > 0? $tasks:max(0, $TargetDedicatedNodes/2);
$TargetDedicatedNodes = max(0, min($targetVMs, ${nodes}));
$NodeDeallocationOption = taskcompletion;`;

async function main() {
  const host = await startHost({ appDir: repoRoot, inMemory: true, port: 0, functionLogs: false, log: { info: () => {}, warn: () => {}, error: (m) => console.error(m) } });
  const call = async (method: string, route: string, body?: unknown) => {
    const response = await fetch(`${host.baseUrl}/api/${route}`, {
      method,
      headers: { 'x-functions-key': host.keys.functionKey, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (response.status >= 400) throw new Error(`${method} ${route}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  const rows: { decisionMs: number; capacityMs: number }[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const poolId = `bench-auto-${round}`;
      await call('POST', 'pools', { id: poolId, vmSize: 'Standard_D2s_v5', enableAutoScale: true, autoScaleFormula: formula, autoScaleEvaluationInterval: 'PT15M' });
      // The pool's creation is itself an evaluation; let its debounce period pass so the figure is
      // the reaction to the submission alone.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const started = performance.now();
      await call('POST', 'jobs', {
        id: `bench-job-${round}`,
        poolInfo: { poolId },
        onAllTasksComplete: 'terminatejob',
        tasks: Array.from({ length: tasks }, (_, i) => ({ id: `t${i}`, commandLine: 'sleep 2' })),
      });
      const decisionMs = await waitFor(host, call, poolId, (p) => p.targetDedicatedNodes > 0, started);
      const capacityMs = await waitFor(host, call, poolId, (p) => p.currentDedicatedNodes >= nodes, started);
      rows.push({ decisionMs, capacityMs });
      process.stdout.write(`round ${round}: first resize decision ${decisionMs.toFixed(0)} ms, ${nodes} nodes running ${capacityMs.toFixed(0)} ms after submission\n`);
      await call('DELETE', `pools/${poolId}`);
    }
  } finally {
    await host.stop();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const decision = median(rows.map((r) => r.decisionMs));
  const capacity = median(rows.map((r) => r.capacityMs));
  process.stdout.write(
    `\nmedian of ${rows.length} (${tasks} tasks, target ${nodes} nodes, evaluation interval PT15M):\n` +
      `  submission -> first resize decision : ${(decision / 1000).toFixed(2)} s   (Azure Batch: up to ${BATCH_MIN_INTERVAL_MS / 60_000} min, its minimum evaluation interval)\n` +
      `  submission -> target capacity       : ${(capacity / 1000).toFixed(2)} s   (Azure Batch: next evaluation, up to 5 min, plus VM allocation)\n`,
  );
}

async function waitFor(
  _host: RunningHost,
  call: (method: string, route: string) => Promise<any>,
  poolId: string,
  done: (pool: { targetDedicatedNodes: number; currentDedicatedNodes: number }) => boolean,
  since: number,
): Promise<number> {
  const deadline = performance.now() + 180_000;
  while (performance.now() < deadline) {
    if (done(await call('GET', `pools/${poolId}`))) return performance.now() - since;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`pool ${poolId} did not get there within 3 minutes`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
