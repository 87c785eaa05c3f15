// Long CPU work in steps lets other work run between them, and short work runs straight through.
import { describe, expect, it } from 'vitest';
import { runGivingWay } from '../../shared/give-way.js';

function* busySteps(count: number, stepMs: number, log: string[]): Generator<void, string> {
  for (let i = 0; i < count; i++) {
    const until = performance.now() + stepMs;
    while (performance.now() < until) {
      // Spins: CPU work that does not let the event loop turn.
    }
    log.push(`step ${i}`);
    yield;
  }
  return 'done';
}

describe('runGivingWay', () => {
  it('lets work waiting on the event loop run between steps once a turn has taken its time', async () => {
    const log: string[] = [];
    setImmediate(() => log.push('other'));
    expect(await runGivingWay(busySteps(3, 5, log), 4)).toBe('done');
    expect(log).toEqual(['step 0', 'other', 'step 1', 'step 2']);
  });

  it('runs steps that fit in one turn straight through', async () => {
    const log: string[] = [];
    setImmediate(() => log.push('other'));
    expect(await runGivingWay(busySteps(3, 0, log), 60_000)).toBe('done');
    expect(log).toEqual(['step 0', 'step 1', 'step 2']);
  });

  it('raises what a step throws', async () => {
    function* failing(): Generator<void, never> {
      yield;
      throw new Error('bad step');
    }
    await expect(runGivingWay(failing(), 0)).rejects.toThrow('bad step');
  });
});
