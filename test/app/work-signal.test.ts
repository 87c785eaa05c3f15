// The work signal: the control plane's count of sends to each pool, and the requests idle nodes
// hold on it; and how the app's queues feed it.
import { describe, expect, it } from 'vitest';
import { MemoryDocumentStore } from '../../shared/adapters/memory-document-store.js';
import { MemoryWorkQueue } from '../../shared/adapters/memory-work-queue.js';
import { SignallingWorkQueue } from '../../shared/adapters/signalling-work-queue.js';
import { appContext, setAppContext } from '../../shared/app/context.js';
import { awaitPoolWork, heartbeat, noteWorkReturned } from '../../shared/app/node-service.js';
import { WorkSignal } from '../../shared/app/work-signal.js';
import { isBatchError } from '../../shared/batch/index.js';
import { VirtualClock } from '../../local-host/virtual-clock.js';
import { workQueueConformance } from '../conformance/work-queue.suite.js';

const LONG_MS = 60_000;

/** Whether the promise has settled by the time pending callbacks have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('WorkSignal', () => {
  it('answers at once without a cursor, and holds a request on the current count until work is sent to its pool', async () => {
    const signal = new WorkSignal(true);
    expect(await signal.wait('p', undefined, LONG_MS)).toBe(0);
    const held = signal.wait('p', 0, LONG_MS);
    const otherPool = signal.wait('q', 0, LONG_MS);
    expect(await settled(held)).toBe(false);
    expect(signal.held).toBe(2);
    signal.notify('p');
    expect(await held).toBe(1);
    expect(await settled(otherPool)).toBe(false);
    expect(signal.held).toBe(1);
    signal.close();
    expect(await otherPool).toBe(0);
    expect(signal.held).toBe(0);
  });

  it('answers at once when the count already moved past the cursor, or differs from it at all', async () => {
    const signal = new WorkSignal(true);
    signal.notify('p');
    signal.notify('p');
    expect(await signal.wait('p', 1, LONG_MS)).toBe(2);
    // A cursor from before a restart (a count this process never reached) is news too.
    expect(await signal.wait('p', 57, LONG_MS)).toBe(2);
  });

  it('answers a held request with the count unchanged when its wait is over', async () => {
    const signal = new WorkSignal(true);
    expect(await signal.wait('p', 0, 20)).toBe(0);
    expect(await signal.wait('p', 0, 0)).toBe(0);
    expect(signal.held).toBe(0);
  });
});

describe('the app context feeds the signal', () => {
  async function context(offerWorkSignal?: boolean) {
    const clock = new VirtualClock();
    setAppContext({ store: new MemoryDocumentStore(), queueFactory: async (name) => new MemoryWorkQueue(name, clock), ...(offerWorkSignal === undefined ? {} : { offerWorkSignal }) });
    return appContext();
  }

  it("counts each message sent to any of a pool's queues, under the pool's key, but not delayed ones", async () => {
    const ctx = await context(true);
    const held = ctx.workSignal.wait('pool-a', 0, LONG_MS);
    await (await ctx.queue('Pool-A', 'normal')).send('one');
    expect(await held).toBe(1);
    await (await ctx.queue('pool-a', 'high')).send('two');
    await (await ctx.queue('pool-a', 'low')).send('later', { visibilityDelayMs: 5_000 });
    await (await ctx.queue('pool-b', 'normal')).send('elsewhere');
    expect(ctx.workSignal.count('pool-a')).toBe(2);
    expect(ctx.workSignal.count('pool-b')).toBe(1);
  });

  it('offers the signal in heartbeat answers only where it was asked for, and refuses requests where it is not', async () => {
    for (const offered of [true, false, undefined]) {
      const ctx = await context(offered);
      await ctx.pools.create({ id: 'p', poolId: 'p', state: 'active' } as never);
      const answer = await heartbeat(ctx, {
        poolId: 'p',
        nodeId: 'n1',
        isDedicated: true,
        state: 'idle',
        bootTime: new Date().toISOString(),
        taskSlots: 1,
        runningTasks: [],
        metrics: { cpuPercent: 0, memoryBytes: 0 },
      });
      expect(answer.workSignal === true).toBe(offered === true);
      const request = awaitPoolWork(ctx, { poolId: 'p', nodeId: 'n1', waitMs: 0 });
      if (offered) expect(await request).toEqual({ count: 0 });
      else await expect(request).rejects.toSatisfy((e) => isBatchError(e) && e.status === 409);
    }
  });

  it("wakes the pool's waiting nodes when one says it gave messages back, and refuses the notice where the signal is not offered", async () => {
    const ctx = await context(true);
    const held = awaitPoolWork(ctx, { poolId: 'Pool-A', nodeId: 'n2', after: 0, waitMs: LONG_MS });
    const otherPool = ctx.workSignal.wait('pool-b', 0, LONG_MS);
    expect(await settled(held)).toBe(false);
    noteWorkReturned(ctx, { poolId: 'pool-a', nodeId: 'n1' });
    expect(await held).toEqual({ count: 1 });
    expect(await settled(otherPool)).toBe(false);
    ctx.workSignal.close();

    const unoffered = await context(false);
    expect(() => noteWorkReturned(unoffered, { poolId: 'pool-a', nodeId: 'n1' })).toThrow(expect.objectContaining({ status: 409 }));
    expect(unoffered.workSignal.count('pool-a')).toBe(0);
  });
});

// The decorator must be invisible apart from the signalling: it passes the queue suite.
workQueueConformance('signalling decorator over memory', async () => {
  const clock = new VirtualClock();
  return {
    queue: new SignallingWorkQueue(new MemoryWorkQueue('tasks', clock), () => undefined),
    cleanup: async () => {},
    elapse: async (ms) => clock.advance(ms),
  };
});

describe('SignallingWorkQueue', () => {
  it('signals only once the service took the message', async () => {
    const clock = new VirtualClock();
    const inner = new MemoryWorkQueue('tasks', clock);
    let signals = 0;
    const queue = new SignallingWorkQueue(inner, () => signals++);
    await queue.send('a');
    expect(signals).toBe(1);
    inner.send = () => Promise.reject(new Error('refused'));
    await expect(queue.send('b')).rejects.toThrow('refused');
    expect(signals).toBe(1);
  });
});
