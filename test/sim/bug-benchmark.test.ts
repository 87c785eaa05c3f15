// The bug benchmark keeps the tester honest: every catalogued defect, switched on alone, must be
// found in its scenario. Searches start from the fixed base seed 7 so the suite is stable; a
// defect that random search reaches only after hundreds of iterations is checked on its known
// seed instead, and that seed must pass with the defect off (the violation is the defect's).
// `npm run sim:bugs` runs the full benchmark with varied seeds, random and PCT side by side.
import { afterAll, describe, expect, it } from 'vitest';
import { defect } from '../../shared/app/defects.js';
import { formatBugRow, runBugBenchmark } from '../../sim/bugs.js';
import { DEFECTS, enableDefects } from '../../sim/defect-switches.js';
import { runOnce, strategyForRun } from '../../sim/runner.js';
import { scenarioNamed } from '../../sim/scenarios.js';

afterAll(() => enableDefects([]));

describe('bug benchmark', () => {
  it('has at least ten defects, all off unless the simulator turns them on', () => {
    expect(DEFECTS.length).toBeGreaterThanOrEqual(10);
    for (const d of DEFECTS) expect(defect(d.name)).toBe(false);
  });

  for (const entry of DEFECTS) {
    if (entry.ciSeed !== undefined) {
      it(`finds ${entry.name} on its known seed ${entry.ciSeed}`, async () => {
        const scenario = scenarioNamed(entry.scenario);
        const run = () => runOnce({ scenario, seed: entry.ciSeed!, strategy: strategyForRun('random', scenario) });
        enableDefects([entry.name]);
        const withDefect = await run();
        enableDefects([]);
        const without = await run();
        process.stdout.write(`[sim:bugs] ${entry.name}: seed ${entry.ciSeed} -> ${withDefect.violation?.monitor ?? 'no violation'}\n`);
        expect(withDefect.violation).toBeDefined();
        expect(without.violation).toBeUndefined();
      });
      continue;
    }
    it(`finds ${entry.name}`, async () => {
      const [result] = await runBugBenchmark({ iterations: 150, seed: 7, strategies: ['random'], only: [entry.name], timeLimitMs: 20_000 });
      process.stdout.write(`[sim:bugs] ${formatBugRow(result!, ['random'])}\n`);
      const found = result!.byStrategy.random!.failure;
      if (found) process.stdout.write(`  ${found.violation!.monitor}: ${found.violation!.message}\n`);
      expect(found?.violation).toBeDefined();
      expect(defect(entry.name)).toBe(false);
    });
  }
});
