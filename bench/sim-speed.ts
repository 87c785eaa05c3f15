// Benchmark: simulator iterations per second on the 20-task DAG scenario with faults on (and the
// other clean scenarios for comparison), one core, random and PCT search.
//   npm run build && node dist/bench/sim-speed.js [iterations] [scenario,...]
// Besides wall-clock iterations per second it prints the main thread's CPU time per iteration
// (on Linux), which a busy machine disturbs far less than wall time, and what the iteration's
// orchestration episodes spent in the real libraries' replay (@azure/functions, durable-functions
// and the orchestrator code): a floor under the iteration that no simulator speed-up removes.
import { loadSimApp } from '../sim/app-functions.js';
import { explore } from '../sim/runner.js';
import { mainThreadCpuMs } from './process-cpu.js';
import { timeOrchestrationReplays } from './replay-timer.js';
import { CLEAN_SCENARIOS, scenarioNamed } from '../sim/scenarios.js';

async function main() {
  const iterations = Number(process.argv[2] ?? 100);
  const names = process.argv[3]?.split(',') ?? CLEAN_SCENARIOS;
  const app = await loadSimApp(); // loading the app once is not part of an iteration
  const { model, timer } = timeOrchestrationReplays(app.registry.programmingModel!);
  app.registry.programmingModel = model;
  for (const name of names) {
    for (const strategy of ['random', 'pct'] as const) {
      const cpuBefore = mainThreadCpuMs();
      timer.reset();
      const r = await explore({ scenario: scenarioNamed(name), strategy, iterations, seed: 1 });
      const cpuAfter = mainThreadCpuMs();
      const cpu = cpuBefore === undefined || cpuAfter === undefined ? '' : `  ${((cpuAfter - cpuBefore) / r.iterations).toFixed(1).padStart(6)} cpu-ms/it`;
      process.stdout.write(
        `${name.padEnd(22)} ${strategy.padEnd(7)} ${String(r.iterations).padStart(5)} it  ${r.perSecond.toFixed(1).padStart(6)} it/s  ` +
          `${(r.totalSteps / r.iterations).toFixed(0).padStart(5)} steps/it  ${((r.totalSteps / r.seconds) / 1000).toFixed(1).padStart(5)}k steps/s${cpu}` +
          `  ${(timer.episodes / r.iterations).toFixed(0).padStart(3)} replays/it  ${(timer.ms / r.iterations).toFixed(1).padStart(5)} replay-ms/it (${((100 * timer.ms) / (r.seconds * 1000)).toFixed(0)}%)` +
          `${r.failure ? `  VIOLATION at seed ${r.failure.seed}: ${r.failure.violation!.monitor}` : ''}\n`,
      );
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
