import { describe, expect, it } from 'vitest';
import type { BenchTask } from '../../bench/compute-dag.js';
import { findNinja, ninjaBuildFile, runNinja } from '../../bench/compute-ninja.js';

const ninja = findNinja();

describe('ninja build file', () => {
  it('has one edge per task with its dependencies as implicit inputs', () => {
    const file = ninjaBuildFile([
      { id: 't0', durationMs: 0, deps: [] },
      { id: 't1', durationMs: 120, deps: ['t0'] },
      { id: 't2', durationMs: 50, deps: ['t0', 't1'] },
    ]);
    expect(file).toBe(
      ['rule run', '  command = $cmd', '', 'build t0: run', '  cmd = /bin/true', 'build t1: run | t0', '  cmd = /bin/sleep 0.120', 'build t2: run | t0 t1', '  cmd = /bin/sleep 0.050', ''].join('\n'),
    );
  });
});

describe.skipIf(!ninja)('running ninja', () => {
  it('runs a chain one edge after another, so it takes at least the sum of its sleeps', async () => {
    const chain: BenchTask[] = Array.from({ length: 4 }, (_, i) => ({ id: `c${i}`, durationMs: 150, deps: i ? [`c${i - 1}`] : [] }));
    const { wallMs } = await runNinja(ninja!, chain, 8);
    expect(wallMs).toBeGreaterThanOrEqual(600);
  });

  it('reports a failing build instead of timing it', async () => {
    const broken: BenchTask[] = [{ id: 'x', durationMs: 0, deps: ['missing-input'] }];
    await expect(runNinja(ninja!, broken, 1)).rejects.toThrow(/ninja exited with 1/);
  });
});
