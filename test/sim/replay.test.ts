// A run is a pure function of its seed: the same seed gives the same trace step for step (also
// after other runs in the same process, and for a failing run under a defect).
import { afterEach, describe, expect, it } from 'vitest';
import { enableDefects } from '../../sim/defect-switches.js';
import { Prng } from '../../sim/prng.js';
import { runOnce, seedFor, strategyForRun } from '../../sim/runner.js';
import { scenarioNamed } from '../../sim/scenarios.js';
import { PctStrategy } from '../../sim/strategies.js';
import type { Step } from '../../sim/kernel.js';

const run = (name: string, seed: number, strategy: 'random' | 'pct' | 'portfolio' = 'random') => {
  const scenario = scenarioNamed(name);
  return runOnce({ scenario, seed, strategy: strategyForRun(strategy, scenario) });
};

afterEach(() => enableDefects([]));

describe('replay', () => {
  it('gives the same trace for the same seed, and another for another seed', async () => {
    const first = await run('dag-faults', 4242);
    await run('cancel-race', 1);
    const again = await run('dag-faults', 4242);
    expect(again.trace).toEqual(first.trace);
    expect(again.scheduleHash).toBe(first.scheduleHash);
    expect(again.summary).toBe(first.summary);
    expect(first.trace.length).toBeGreaterThan(100);
    const other = await run('dag-faults', 4243);
    expect(other.scheduleHash).not.toBe(first.scheduleHash);
  });

  it('replays PCT and portfolio runs from the seed alone', async () => {
    for (const strategy of ['pct', 'portfolio'] as const) {
      const a = await run('host-crashes', 77, strategy);
      const b = await run('host-crashes', 77, strategy);
      expect(b.trace).toEqual(a.trace);
      expect(b.strategy).toBe(a.strategy);
    }
  });

  it('replays a failing seed to the same violation and trace', async () => {
    enableDefects(['finish-job-first']);
    let failing: Awaited<ReturnType<typeof run>> | undefined;
    for (let i = 0; i < 40 && !failing; i++) {
      const result = await run('cancel-race', seedFor(7, i));
      if (result.violation) failing = result;
    }
    expect(failing?.violation?.monitor).toBe('CompletedJobHasEndedTasks');
    const again = await run('cancel-race', failing!.seed);
    expect(again.violation).toEqual(failing!.violation);
    expect(again.trace).toEqual(failing!.trace);
  });
});

describe('seeded choices', () => {
  it('draws the same numbers from the same seed', () => {
    const a = new Prng(9);
    const b = new Prng(9);
    const xs = Array.from({ length: 50 }, () => a.int(1000));
    expect(Array.from({ length: 50 }, () => b.int(1000))).toEqual(xs);
    expect(new Set(xs).size).toBeGreaterThan(30);
    expect(xs.every((x) => x >= 0 && x < 1000)).toBe(true);
  });

  it('PCT runs the highest-priority owner until a change point demotes it', () => {
    const steps = (owners: string[]): Step[] => owners.map((owner) => ({ owner, label: owner, run: () => undefined }));
    const pct = new PctStrategy(2, 10);
    pct.begin(new Prng(3), 3);
    const ready = steps(['a', 'b', 'c']);
    const picks = Array.from({ length: 10 }, (_, i) => ready[pct.pick(ready, i + 1)]!.owner);
    // One owner runs while it is enabled; after the single change point another takes over.
    const switches = picks.filter((p, i) => i > 0 && p !== picks[i - 1]).length;
    expect(switches).toBeLessThanOrEqual(1);
    expect(new Set(picks).size).toBeLessThanOrEqual(2);
  });
});
