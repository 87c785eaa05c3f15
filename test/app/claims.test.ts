// Claim rules that keep a task from being stranded or run twice.
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryDocumentStore } from '../../shared/adapters/memory-document-store.js';
import { MemoryWorkQueue } from '../../shared/adapters/memory-work-queue.js';
import { appContext, setAppContext, type AppContext } from '../../shared/app/context.js';
import { toJobDoc, toTaskDoc } from '../../shared/app/documents.js';
import { claimTask, dispatchTasks, releaseTask } from '../../shared/app/task-lifecycle.js';
import { heartbeat } from '../../shared/app/node-service.js';
import { newStoredJob, newStoredTask, validateJobSubmission } from '../../shared/batch/index.js';
import { VirtualClock } from '../../local-host/virtual-clock.js';

let ctx: AppContext;
const clock = new VirtualClock();

beforeEach(async () => {
  setAppContext({ store: new MemoryDocumentStore(), queueFactory: async (name) => new MemoryWorkQueue(name, clock), now: () => clock.now() });
  ctx = await appContext();
  const at = new Date(clock.now()).toISOString();
  const { job, tasks } = validateJobSubmission({ id: 'j', poolInfo: { poolId: 'p' }, tasks: [{ id: 't', commandLine: '/bin/true' }] });
  await ctx.pools.create({ id: 'p', poolId: 'p', state: 'active', taskSlotsPerNode: 1 } as never);
  await ctx.jobs.create(toJobDoc(newStoredJob(job, at)));
  await ctx.tasks.create(toTaskDoc('j', newStoredTask(tasks[0]!, at)));
  await dispatchTasks(ctx, 'j', ['t']);
});

async function dispatchId(): Promise<string> {
  return (await ctx.tasks.read('t', 'j'))!.item.dispatchId!;
}

const claim = async (nodeId: string, bootTime: string) =>
  claimTask(ctx, { poolId: 'p', nodeId, jobId: 'j', taskId: 't', dispatchId: await dispatchId(), bootTime });

describe('claims', () => {
  it('grants a repeat claim of the same dispatch by the same agent (its first answer was lost), changing nothing', async () => {
    const boot = new Date(clock.now() - 1000).toISOString();
    expect(await claim('n1', boot)).toMatchObject({ granted: true, requeueCount: 0 });
    const before = await ctx.tasks.read('t', 'j');
    clock.advance(5000);
    expect(await claim('n1', boot)).toMatchObject({ granted: true, requeueCount: 0 });
    expect((await ctx.tasks.read('t', 'j'))!.etag).toBe(before!.etag);
  });

  it('refuses the dispatch to another node while the holder is alive', async () => {
    expect(await claim('n1', new Date(clock.now() - 1000).toISOString())).toMatchObject({ granted: true });
    await heartbeat(ctx, { poolId: 'p', nodeId: 'n1', isDedicated: true, state: 'running', bootTime: new Date(clock.now() - 1000).toISOString(), taskSlots: 1, runningTasks: [], metrics: { cpuPercent: 0, memoryBytes: 0 } });
    clock.advance(1000);
    expect(await claim('n2', new Date(clock.now() - 1000).toISOString())).toEqual({ granted: false, reason: 'TaskNotActive' });
  });

  it('lets a node that restarted since it claimed the task take it over, counting a requeue', async () => {
    expect(await claim('n1', new Date(clock.now() - 1000).toISOString())).toMatchObject({ granted: true });
    clock.advance(3000);
    const reboot = new Date(clock.now()).toISOString();
    clock.advance(100);
    expect(await claim('n1', reboot)).toMatchObject({ granted: true, requeueCount: 1 });
  });
});

describe('releases', () => {
  const release = async (nodeId: string, unstarted?: boolean) =>
    releaseTask(ctx, { poolId: 'p', nodeId, jobId: 'j', taskId: 't', dispatchId: await dispatchId(), ...(unstarted === undefined ? {} : { unstarted }) });
  const boot = () => new Date(clock.now() - 1000).toISOString();

  it('puts a task claimed ahead and never started back in the queue as it was, for any node to claim', async () => {
    expect(await claim('n1', boot())).toMatchObject({ granted: true });
    expect((await ctx.tasks.read('t', 'j'))!.item).toMatchObject({ state: 'running', scheduling: 'claimed' });
    expect(await release('n1', true)).toBe(true);
    const back = (await ctx.tasks.read('t', 'j'))!.item;
    expect(back).toMatchObject({ state: 'active', scheduling: 'queued' });
    expect(back.executionInfo.requeueCount).toBe(0);
    expect(back.executionInfo.startTime).toBeUndefined();
    expect(await claim('n2', boot())).toMatchObject({ granted: true, requeueCount: 0 });
  });

  it('counts a requeue when a node gives back a task it had started', async () => {
    expect(await claim('n1', boot())).toMatchObject({ granted: true });
    expect(await release('n1')).toBe(true);
    expect((await ctx.tasks.read('t', 'j'))!.item.executionInfo.requeueCount).toBe(1);
  });

  it("does nothing for a node that does not hold the task", async () => {
    expect(await claim('n1', boot())).toMatchObject({ granted: true });
    expect(await release('n2', true)).toBe(false);
    expect((await ctx.tasks.read('t', 'j'))!.item).toMatchObject({ state: 'running', scheduling: 'claimed' });
  });
});
