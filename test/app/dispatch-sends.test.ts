// A dispatch sends its tasks' messages in the order it is given (the job's dispatch order), a
// bounded number at a time: the first of a burst is on the queue after one send, not after all.
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryDocumentStore } from '../../shared/adapters/memory-document-store.js';
import { MemoryWorkQueue } from '../../shared/adapters/memory-work-queue.js';
import { appContext, setAppContext, type AppContext } from '../../shared/app/context.js';
import { toJobDoc, toTaskDoc } from '../../shared/app/documents.js';
import { dispatchTasks } from '../../shared/app/task-lifecycle.js';
import { newStoredJob, newStoredTask, validateJobSubmission } from '../../shared/batch/index.js';
import type { SendOptions } from '../../shared/ports/work-queue.js';
import { VirtualClock } from '../../local-host/virtual-clock.js';

/** A queue whose sends wait until the test lets them through, recording the order they began in. */
class HeldSendQueue extends MemoryWorkQueue {
  readonly began: string[] = [];
  private held: (() => void)[] = [];

  override async send(body: string, options?: SendOptions): Promise<{ messageId: string }> {
    this.began.push((JSON.parse(body) as { taskId: string }).taskId);
    await new Promise<void>((resolve) => this.held.push(resolve));
    return super.send(body, options);
  }

  get waiting(): number {
    return this.held.length;
  }

  releaseOldest(): void {
    this.held.shift()?.();
  }
}

const clock = new VirtualClock();
let ctx: AppContext;
let queue: HeldSendQueue;
const ids = Array.from({ length: 40 }, (_, i) => `t${i}`);

beforeEach(async () => {
  queue = new HeldSendQueue('p', clock);
  setAppContext({ store: new MemoryDocumentStore(), queueFactory: async () => queue, now: () => clock.now() });
  ctx = await appContext();
  const at = new Date(clock.now()).toISOString();
  const { job, tasks } = validateJobSubmission({ id: 'j', poolInfo: { poolId: 'p' }, tasks: ids.map((id) => ({ id, commandLine: '/bin/true' })) });
  await ctx.pools.create({ id: 'p', poolId: 'p', state: 'active', taskSlotsPerNode: 1 } as never);
  await ctx.jobs.create(toJobDoc(newStoredJob(job, at)));
  for (const task of tasks) await ctx.tasks.create(toTaskDoc('j', newStoredTask(task, at)));
});

const settle = async () => {
  for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('dispatch sends', () => {
  it('begins the sends in the order given, with at most 16 out at once', async () => {
    const order = [...ids].reverse();
    const dispatch = dispatchTasks(ctx, 'j', order);
    await settle();
    expect(queue.waiting).toBe(16);
    expect(queue.began).toEqual(order.slice(0, 16));

    // The first send through is on the queue at once, and the next one in order begins.
    queue.releaseOldest();
    await settle();
    const [first] = await queue.receive(1, 60_000);
    expect((JSON.parse(first!.body) as { taskId: string }).taskId).toBe(order[0]);
    expect(queue.began).toEqual(order.slice(0, 17));
    expect(queue.waiting).toBe(16);

    while (queue.began.length < order.length || queue.waiting > 0) {
      queue.releaseOldest();
      await settle();
    }
    const result = await dispatch;
    expect(queue.began).toEqual(order);
    expect(result.dispatched.sort()).toEqual([...ids].sort());
    expect(await queue.approximateCount()).toBe(40);
  });
});
