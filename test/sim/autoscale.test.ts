// The autoscale scenario drives the real autoscale service (early evaluation when work arrives,
// the timer's evaluations and samples, the reconciler) under Spot evictions, a VM failure and
// failing scale-set calls. Its two liveness monitors must pass on the correct code and must
// catch a pool that does not grow for pending work, or does not go back to its floor.
import { describe, expect, it } from 'vitest';
import { AUTOSCALE_MONITORS } from '../../sim/autoscale-monitors.js';
import { runOnce, seedFor, strategyForRun } from '../../sim/runner.js';
import type { Scenario } from '../../sim/scenario.js';
import { scenarioNamed } from '../../sim/scenarios.js';

const base = scenarioNamed('autoscale-under-load');

function withFormula(formula: string, changes: Partial<Scenario> = {}): Scenario {
  return { ...base, ...changes, pool: { ...base.pool, autoScale: { ...base.pool.autoScale!, formula } } };
}

const run = (scenario: Scenario, i: number) => runOnce({ scenario, seed: seedFor(17, i), strategy: strategyForRun('random', scenario) });

describe('autoscale under load', () => {
  it('grows the pool while work is pending and brings it back to its floor', async () => {
    for (let i = 0; i < 4; i++) {
      const result = await run(base, i);
      expect(result.violation, result.violation?.message).toBeUndefined();
      expect(result.summary).toMatch(/scaled:completed/);
      const trace = result.trace.join('\n');
      expect(trace).toMatch(/growTo simpool lowPriority [12]/);
      expect(trace).toMatch(/deleteNodes simpool/);
    }
  });

  it('catches a pool that does not grow for pending work', async () => {
    const stuckAtOne = withFormula('$TargetDedicatedNodes = 1; $TargetLowPriorityNodes = 0;', {
      profile: (prng) => ({ durationMs: prng.between(60_000, 90_000), exitCode: 0 }),
    });
    const result = await run(stuckAtOne, 0);
    expect(result.violation?.monitor).toBe(AUTOSCALE_MONITORS.grows);
  });

  it('catches an idle pool that stays above its floor', async () => {
    const neverShrinks = withFormula('$TargetDedicatedNodes = 2; $TargetLowPriorityNodes = 1;');
    const result = await run(neverShrinks, 0);
    expect(result.violation?.monitor).toBe(AUTOSCALE_MONITORS.shrinks);
  });
});
