// The job watchdog finds a task whose queue message is gone (a host died between marking the task
// queued and sending it) by looking at the queue's front, so it is found while the pool's queue is
// still busy with later work, not only once the queue is empty.
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryWorkQueue } from '../../shared/adapters/memory-work-queue.js';
import type { AppContext } from '../../shared/app/context.js';
import { jobKey, taskKey } from '../../shared/app/documents.js';
import { checkInflight, LOST_MESSAGE_AFTER_MS } from '../../shared/app/job-runner.js';
import { claimTask, dispatchTasks } from '../../shared/app/task-lifecycle.js';
import type { TaskMessage } from '../../shared/agent-protocol.js';
import { VirtualClock } from '../../local-host/virtual-clock.js';
import { appWithJob } from '../support/app-with-job.js';

// Longer than any test runs: a node holding a message keeps extending its lease.
const LEASE_MS = 600_000;
let clock: VirtualClock;
let ctx: AppContext;
let queue: MemoryWorkQueue;
const ids = ['lost', 'a', 'b', 'later1', 'later2'];

beforeEach(async () => {
  clock = new VirtualClock();
  queue = new MemoryWorkQueue('p', clock);
  ctx = await appWithJob(queue, clock, ids);
  // 'lost', 'a' and 'b' go on the queue; then 'lost' loses its message, as if its send never happened.
  await dispatchTasks(ctx, 'j', ['lost', 'a', 'b']);
  const [first] = await queue.receive(1, LEASE_MS);
  expect(body(first!).taskId).toBe('lost');
  await queue.delete(first!);
});

function body(message: { body: string }): TaskMessage {
  return JSON.parse(message.body) as TaskMessage;
}

/** A node takes the front message and claims its task, as an agent does. */
async function claimFront(nodeId: string): Promise<string> {
  const [message] = await queue.receive(1, LEASE_MS);
  const task = body(message!);
  const answer = await claimTask(ctx, { poolId: 'p', nodeId, jobId: 'j', taskId: task.taskId, dispatchId: task.dispatchId });
  expect(answer.granted).toBe(true);
  return task.taskId;
}

async function queuedAt(taskId: string): Promise<number | undefined> {
  return (await ctx.tasks.read(taskKey(taskId), jobKey('j')))!.item.queuedAt;
}

describe('the watchdog and lost messages', () => {
  it('re-sends a lost message once the queue has moved on to work sent well after it, though it is not empty', async () => {
    expect(await claimFront('n1')).toBe('a');
    expect(await claimFront('n1')).toBe('b');
    clock.advance(20_000);
    await dispatchTasks(ctx, 'j', ['later1', 'later2']);
    clock.advance(LOST_MESSAGE_AFTER_MS - 20_000 + 1);

    const check = await checkInflight(ctx, 'j', ['lost', 'later1', 'later2']);
    expect(check.resent).toEqual(['lost']);
    // later1, later2 and the re-sent one; a's and b's are still held by their node.
    expect(await queue.peek(32)).toHaveLength(3);
    const messages = await queue.receive(32, LEASE_MS);
    const resent = messages.map(body).find((m) => m.taskId === 'lost')!;
    const task = (await ctx.tasks.read(taskKey('lost'), jobKey('j')))!.item;
    expect(resent.dispatchId).toBe(task.dispatchId);
    expect(task.queuedAt).toBe(clock.now());
    for (const message of messages) await queue.extendLease(message, 0);

    // Waiting behind the later work, the re-sent message is not sent yet again.
    clock.advance(LOST_MESSAGE_AFTER_MS + 1);
    expect((await checkInflight(ctx, 'j', ['lost', 'later1', 'later2'])).resent).toEqual([]);
    expect(await queue.peek(32)).toHaveLength(3);
  });

  it('waits while the front of the queue holds work sent no later than the task', async () => {
    clock.advance(LOST_MESSAGE_AFTER_MS + 1);
    const before = await queuedAt('lost');
    expect((await checkInflight(ctx, 'j', ['lost', 'a', 'b'])).resent).toEqual([]);
    expect(await queuedAt('lost')).toBe(before);
    expect(await queue.approximateCount()).toBe(2);
  });

  it('re-sends when nothing in the queue is visible, and so the tasks a node took and never claimed (it died)', async () => {
    await queue.receive(32, LEASE_MS);
    clock.advance(LOST_MESSAGE_AFTER_MS + 1);
    expect((await checkInflight(ctx, 'j', ['lost', 'a', 'b'])).resent).toEqual(['lost', 'a', 'b']);
    expect((await queue.peek(32)).map((m) => body(m).taskId)).toEqual(['lost', 'a', 'b']);
  });

  it('leaves a task alone until it has waited long enough', async () => {
    expect(await claimFront('n1')).toBe('a');
    expect(await claimFront('n1')).toBe('b');
    clock.advance(LOST_MESSAGE_AFTER_MS - 1);
    expect((await checkInflight(ctx, 'j', ['lost'])).resent).toEqual([]);
  });
});
