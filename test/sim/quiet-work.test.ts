// Quiet periodic work is not a scheduling choice (sim/periodic-work.ts): a quiet heartbeat runs
// atomically and a quiet maintenance pass is skipped. Here every quiet verdict is checked against
// the real services: the skipped pass runs anyway and must change nothing, and a quiet heartbeat
// must change its node's lastHeartbeatAt alone and bring no orders.
import { describe, expect, it } from 'vitest';
import { runOnce, seedFor, strategyForRun } from '../../sim/runner.js';
import { CLEAN_SCENARIOS, scenarioNamed } from '../../sim/scenarios.js';

const SEEDS = 4;

describe('quiet periodic work', () => {
  for (const name of CLEAN_SCENARIOS) {
    it(`is quiet indeed in ${name}`, async () => {
      const scenario = scenarioNamed(name);
      let quiet = 0;
      for (let i = 0; i < SEEDS; i++) {
        const strategy = strategyForRun(i % 2 === 0 ? 'random' : 'pct', scenario);
        const result = await runOnce({ scenario, seed: seedFor(31, i), strategy, verifyQuietWork: true });
        expect(result.violation, result.violation && `seed ${result.seed}: ${result.violation.message}`).toBeUndefined();
        quiet += result.trace.filter((line) => line.endsWith(': quiet heartbeat')).length;
      }
      if (name === 'dag-faults') expect(quiet).toBeGreaterThan(SEEDS * 10);
    });
  }
});
