// A dispatch sends its tasks' messages in the order it is given (the job's dispatch order), a
// bounded number at a time: the first of a burst is on the queue after one send, not after all.
// A message that cannot be sent leaves its task as it was, for the caller's retry to send it (or,
// for a lost node's task, for its old message to bring it back).
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryWorkQueue } from '../../shared/adapters/memory-work-queue.js';
import type { AppContext } from '../../shared/app/context.js';
import { jobKey, taskKey } from '../../shared/app/documents.js';
import { advanceJob, type AdvanceRequest } from '../../shared/app/job-progress.js';
import { requeueTasksOfLostNode } from '../../shared/app/autoscale-node-loss.js';
import { newNodeDoc } from '../../shared/app/node-service.js';
import { claimTask, completeTask, dispatchTasks } from '../../shared/app/task-lifecycle.js';
import type { SendOptions } from '../../shared/ports/work-queue.js';
import { VirtualClock } from '../../local-host/virtual-clock.js';
import { appWithJob } from '../support/app-with-job.js';

/**
 * A queue whose sends wait until the test lets them through (while `holding`), recording the
 * order they began in; a send for a task in `failOnce` fails, once, as a queue past its client's
 * retries does.
 */
class HeldSendQueue extends MemoryWorkQueue {
  readonly began: string[] = [];
  holding = true;
  readonly failOnce = new Set<string>();
  private held: (() => void)[] = [];

  override async send(body: string, options?: SendOptions): Promise<{ messageId: string }> {
    const { taskId } = JSON.parse(body) as { taskId: string };
    this.began.push(taskId);
    if (this.holding) await new Promise<void>((resolve) => this.held.push(resolve));
    if (this.failOnce.delete(taskId)) throw Object.assign(new Error('The server is busy.'), { statusCode: 503 });
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
  ctx = await appWithJob(queue, clock, ids);
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

  it('puts a task whose message could not be sent back to waiting, and the retried advance dispatches it at once', async () => {
    queue.holding = false;
    queue.failOnce.add('t5');
    const request: AdvanceRequest = { jobId: 'j', runId: 'run', seq: 1, ended: [], added: [], reload: false, sweep: false, dispatch: true, maxParallelTasks: -1 };
    await expect(advanceJob(ctx, request)).rejects.toThrow('The server is busy.');
    const failed = await ctx.tasks.read(taskKey('t5'), jobKey('j'));
    expect(failed!.item).toMatchObject({ scheduling: 'waiting', state: 'active' });
    expect(failed!.item.dispatchId).toBeUndefined();

    // The activity's retry: the same request, its DAG rebuilt from the store.
    await advanceJob(ctx, request);
    const messages = await queue.receive(32, 60_000);
    messages.push(...(await queue.receive(32, 60_000)));
    const sent = messages.map((m) => JSON.parse(m.body) as { taskId: string; dispatchId: string });
    expect(sent.map((m) => m.taskId).sort()).toEqual([...ids].sort());
    const current = await ctx.tasks.read(taskKey('t5'), jobKey('j'));
    expect(current!.item.scheduling).toBe('queued');
    expect(sent.find((m) => m.taskId === 't5')!.dispatchId).toBe(current!.item.dispatchId);
  });

  it("puts a retried task back as it was when its retry's message could not be sent, and the node's repeated report sends it", async () => {
    queue.holding = false;
    const key = jobKey('j');
    const stored = (await ctx.tasks.read(taskKey('t7'), key))!;
    const claimed = {
      ...stored.item,
      state: 'running' as const,
      scheduling: 'claimed' as const,
      dispatchId: '0.0.first',
      nodeInfo: { poolId: 'p', nodeId: 'n1' },
      constraints: { ...stored.item.constraints, maxTaskRetryCount: 1 },
    };
    await ctx.tasks.replace(claimed, { ifMatch: stored.etag });
    const at = new Date(clock.now()).toISOString();
    const report = { poolId: 'p', nodeId: 'n1', jobId: 'j', taskId: 't7', dispatchId: '0.0.first', exitCode: 1, startTime: at, endTime: at };

    queue.failOnce.add('t7');
    await expect(completeTask(ctx, report)).rejects.toThrow('The server is busy.');
    const after = (await ctx.tasks.read(taskKey('t7'), key))!.item;
    expect(after).toMatchObject({ scheduling: 'claimed', dispatchId: '0.0.first', state: 'running' });
    expect(after.executionInfo.retryCount).toBe(0);

    // The node reports again, as it does while the control plane fails.
    expect(await completeTask(ctx, report)).toMatchObject({ accepted: true });
    const retried = (await ctx.tasks.read(taskKey('t7'), key))!.item;
    expect(retried).toMatchObject({ scheduling: 'queued', state: 'active' });
    expect(retried.executionInfo.retryCount).toBe(1);
    const [message] = await queue.receive(1, 60_000);
    expect(JSON.parse(message!.body)).toMatchObject({ taskId: 't7', dispatchId: retried.dispatchId, retryCount: 1 });
  });

  it("leaves a lost node's task with that node when its new message could not be sent, and a claim of its old message requeues it", async () => {
    queue.holding = false;
    const key = jobKey('j');
    const at = new Date(clock.now()).toISOString();
    for (const [taskId, dispatchId] of [['t1', '0.0.one'], ['t2', '0.0.two'], ['t3', '0.0.three']] as const) {
      const stored = (await ctx.tasks.read(taskKey(taskId), key))!;
      await ctx.tasks.replace(
        { ...stored.item, state: 'running', scheduling: 'claimed', dispatchId, nodeInfo: { poolId: 'p', nodeId: 'lost' }, executionInfo: { ...stored.item.executionInfo, startTime: at } },
        { ifMatch: stored.etag },
      );
    }
    await ctx.nodes.create({ ...newNodeDoc('p', 'lost', true, 1, at), state: 'unusable' });
    const pool = (await ctx.pools.read('p', 'p'))!.item;

    // The first task's send fails; the others are requeued all the same.
    queue.failOnce.add('t1');
    await expect(requeueTasksOfLostNode(ctx, pool, 'lost')).rejects.toThrow('The server is busy.');
    const kept = (await ctx.tasks.read(taskKey('t1'), key))!.item;
    expect(kept).toMatchObject({ scheduling: 'claimed', dispatchId: '0.0.one', nodeInfo: { nodeId: 'lost' } });
    expect(kept.executionInfo.requeueCount).toBe(0);
    const sent = (await queue.receive(32, 60_000)).map((m) => JSON.parse(m.body) as { taskId: string });
    expect(sent.map((m) => m.taskId).sort()).toEqual(['t2', 't3']);
    for (const taskId of ['t2', 't3']) expect((await ctx.tasks.read(taskKey(taskId), key))!.item).toMatchObject({ scheduling: 'queued', state: 'active' });

    // The lost node's message for it comes back when its lease runs out: another node's claim of it is a requeue.
    expect(await claimTask(ctx, { poolId: 'p', nodeId: 'other', jobId: 'j', taskId: 't1', dispatchId: '0.0.one' })).toMatchObject({ granted: true, requeueCount: 1 });
    expect((await ctx.tasks.read(taskKey('t1'), key))!.item).toMatchObject({ scheduling: 'claimed', nodeInfo: { nodeId: 'other' } });
  });
});
