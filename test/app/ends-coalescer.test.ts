// Task ends of one job that arrive while a notice to its orchestration is on its way go together.
import { describe, expect, it } from 'vitest';
import { EndsCoalescer } from '../../shared/app/ends-coalescer.js';
import type { JobEvent, TaskEnd } from '../../shared/app/job-events.js';

const end = (taskId: string): TaskEnd => ({ taskId, result: 'success', dependencyAction: 'satisfy', jobAction: 'none' });
const tick = () => new Promise((resolve) => setImmediate(resolve));

function recordingRaise() {
  const raised: { instanceId: string; event: JobEvent; done(): void }[] = [];
  const raise = (instanceId: string, event: JobEvent) => new Promise<void>((done) => raised.push({ instanceId, event, done }));
  const endsOf = (i: number) => (raised[i]!.event as Extract<JobEvent, { type: 'tasksEnded' }>).ends.map((e) => e.taskId);
  return { raised, raise, endsOf };
}

describe('EndsCoalescer', () => {
  it('raises a lone end at once and gathers the ends that come while it is on its way', async () => {
    const coalescer = new EndsCoalescer();
    const { raised, raise, endsOf } = recordingRaise();
    const first = coalescer.raiseEnds(raise, 'job-a', [end('1')]);
    await tick();
    expect(raised).toHaveLength(1);
    const later = [coalescer.raiseEnds(raise, 'job-a', [end('2')]), coalescer.raiseEnds(raise, 'job-a', [end('3'), end('4')])];
    await tick();
    expect(raised).toHaveLength(1);
    raised[0]!.done();
    await first;
    await tick();
    expect(raised).toHaveLength(2);
    expect(endsOf(1)).toEqual(['2', '3', '4']);
    raised[1]!.done();
    await Promise.all(later);
  });

  it('keeps jobs apart: one job waiting does not hold up another', async () => {
    const coalescer = new EndsCoalescer();
    const { raised, raise, endsOf } = recordingRaise();
    void coalescer.raiseEnds(raise, 'job-a', [end('a1')]);
    void coalescer.raiseEnds(raise, 'job-b', [end('b1')]);
    await tick();
    expect(raised.map((r) => r.instanceId)).toEqual(['job-a', 'job-b']);
    expect([endsOf(0), endsOf(1)]).toEqual([['a1'], ['b1']]);
  });

  it('goes on after a raise that failed', async () => {
    const coalescer = new EndsCoalescer();
    let calls = 0;
    const failing = async () => {
      calls++;
      if (calls === 1) throw new Error('orchestration gone');
    };
    await expect(coalescer.raiseEnds(failing, 'job-a', [end('1')])).rejects.toThrow('orchestration gone');
    await coalescer.raiseEnds(failing, 'job-a', [end('2')]);
    expect(calls).toBe(2);
  });
});
