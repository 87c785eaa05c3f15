// Benchmark: simulator iterations per second on the 20-task DAG scenario with faults on (and the
// other clean scenarios for comparison), one core, random and PCT search.
//   npm run build && node dist/bench/sim-speed.js [iterations]
import { loadSimApp } from '../sim/app-functions.js';
import { explore } from '../sim/runner.js';
import { CLEAN_SCENARIOS, scenarioNamed } from '../sim/scenarios.js';

async function main() {
  const iterations = Number(process.argv[2] ?? 100);
  await loadSimApp(); // loading the app once is not part of an iteration
  for (const name of CLEAN_SCENARIOS) {
    for (const strategy of ['random', 'pct'] as const) {
      const r = await explore({ scenario: scenarioNamed(name), strategy, iterations, seed: 1 });
      process.stdout.write(
        `${name.padEnd(14)} ${strategy.padEnd(7)} ${String(r.iterations).padStart(5)} it  ${r.perSecond.toFixed(1).padStart(6)} it/s  ` +
          `${(r.totalSteps / r.iterations).toFixed(0).padStart(5)} steps/it  ${((r.totalSteps / r.seconds) / 1000).toFixed(1).padStart(5)}k steps/s` +
          `${r.failure ? `  VIOLATION at seed ${r.failure.seed}: ${r.failure.violation!.monitor}` : ''}\n`,
      );
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
