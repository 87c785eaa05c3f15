// Benchmark: one orchestration fanning out N activities and fanning in, on the local Durable
// backend, for N = 1,000 and 10,000, in memory and with the on-disk journal. Prints wall time and
// time per activity; the target is that the cost per activity at 10,000 stays within 2x of 1,000.
//   npm run build && node dist/bench/durable-fanout.js
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadApp } from '../local-host/app-loader.js';
import { createInvoker } from '../local-host/invoker.js';
import { createDurableBackend } from '../local-host/durable/create-backend.js';

const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'apps', 'fanout');
const sizes = (process.env.BENCH_SIZES ?? '1000,10000').split(',').map(Number);

async function main() {
  const app = await loadApp(appDir);
  const invoke = createInvoker({ registry: app.registry, appHookData: app.appHookData });
  const rows: { mode: string; n: number; ms: number; perActivityUs: number }[] = [];
  for (const mode of ['memory', 'journal'] as const) {
    for (const n of sizes) {
      const dataDir = mode === 'journal' ? mkdtempSync(path.join(os.tmpdir(), 'fnbatch-bench-')) : undefined;
      const backend = createDurableBackend({ app, invoke, hubName: `bench${n}`, dataDir, maxConcurrentActivities: 64 });
      backend.startDriver();
      const started = performance.now();
      const id = backend.startNew('fanOut', { input: n });
      const done = await backend.waitFor(id, undefined, 600_000);
      const ms = performance.now() - started;
      const expected = ((n - 1) * n * (2 * n - 1)) / 6;
      if (done.runtimeStatus !== 'Completed' || done.output !== expected) throw new Error(`wrong result for N=${n}: ${JSON.stringify(done)}`);
      backend.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      rows.push({ mode, n, ms, perActivityUs: (ms * 1000) / n });
      process.stdout.write(`${mode.padEnd(8)} N=${String(n).padStart(6)}  wall ${ms.toFixed(0).padStart(6)} ms  per activity ${((ms * 1000) / n).toFixed(1).padStart(7)} µs\n`);
    }
  }
  for (const mode of ['memory', 'journal']) {
    const small = rows.find((r) => r.mode === mode && r.n === sizes[0]);
    const large = rows.find((r) => r.mode === mode && r.n === sizes[sizes.length - 1]);
    if (small && large && small !== large) {
      const ratio = large.perActivityUs / small.perActivityUs;
      process.stdout.write(`${mode}: cost per activity at N=${large.n} is ${ratio.toFixed(2)}x that at N=${small.n} (target: at most 2x)\n`);
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
