// The sim-speed benchmark's replay timer, around the simulator's real programming model: it times
// the orchestration episodes of a run, counts only those, and leaves the run itself unchanged.
import { afterEach, describe, expect, it } from 'vitest';
import { timeOrchestrationReplays } from '../../bench/replay-timer.js';
import { loadSimApp } from '../../sim/app-functions.js';
import { runOnce, strategyForRun } from '../../sim/runner.js';
import { scenarioNamed } from '../../sim/scenarios.js';
import type { ProgrammingModel } from '../../local-host/functions-core.js';

let restore: (() => void) | undefined;
afterEach(() => restore?.());

const run = (seed: number) => {
  const scenario = scenarioNamed('dag-faults');
  return runOnce({ scenario, seed, strategy: strategyForRun('random', scenario) });
};

describe('replay timer', () => {
  it('times every orchestration episode of a run and nothing else, without changing the run', async () => {
    const untimed = await run(31);
    const app = await loadSimApp();
    const original: ProgrammingModel = app.registry.programmingModel!;
    restore = () => (app.registry.programmingModel = original);
    const { model, timer } = timeOrchestrationReplays(original);
    app.registry.programmingModel = model;

    const started = performance.now();
    const timed = await run(31);
    const wallMs = performance.now() - started;

    expect(timed.trace).toEqual(untimed.trace);
    // The trace names each orchestration episode and each activity; only the former are timed.
    const episodes = timed.trace.filter((line) => /durable: orchestration /.test(line)).length;
    const activities = timed.trace.filter((line) => /durable: activity /.test(line)).length;
    expect(activities).toBeGreaterThan(0);
    expect(timer.episodes).toBe(episodes);
    expect(timer.ms).toBeGreaterThan(0);
    expect(timer.ms).toBeLessThan(wallMs);
    timer.reset();
    expect([timer.ms, timer.episodes]).toEqual([0, 0]);
  });
});
