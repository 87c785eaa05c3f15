// What a node's heartbeats record: its running tasks, the ones that ended since the last beat, and
// which of its tasks the control plane wants killed.
import { beforeEach, describe, expect, it } from 'vitest';
import { CountingDocumentStore } from '../../shared/adapters/counting-document-store.js';
import { MemoryDocumentStore } from '../../shared/adapters/memory-document-store.js';
import { appContext, setAppContext, type AppContext } from '../../shared/app/context.js';
import { heartbeat } from '../../shared/app/node-service.js';
import type { HeartbeatRequest } from '../../shared/agent-protocol.js';
import { VirtualClock } from '../../local-host/virtual-clock.js';

let ctx: AppContext;
const clock = new VirtualClock();
const beat = (running: string[]): HeartbeatRequest => ({
  poolId: 'p',
  nodeId: 'n1',
  isDedicated: true,
  state: running.length ? 'running' : 'idle',
  bootTime: new Date(clock.now()).toISOString(),
  taskSlots: 4,
  runningTasks: running.map((id) => ({ jobId: 'j', taskId: id, dispatchId: `d-${id}`, slots: 1 })),
  metrics: { cpuPercent: 1, memoryBytes: 1 },
});

let counted: CountingDocumentStore;

beforeEach(async () => {
  counted = new CountingDocumentStore(new MemoryDocumentStore());
  setAppContext({ store: counted, now: () => clock.now() });
  ctx = await appContext();
  await ctx.pools.create({ id: 'p', poolId: 'p', state: 'active' } as never);
});

describe('heartbeats', () => {
  it('record the tasks that ended since the previous beat, newest first', async () => {
    await heartbeat(ctx, beat(['a', 'b']));
    clock.advance(500);
    await heartbeat(ctx, beat(['b']));
    clock.advance(500);
    await heartbeat(ctx, beat([]));
    const node = (await ctx.nodes.read('n1', 'p'))!.item;
    expect(node.runningTasks).toEqual([]);
    expect(node.recentTasks.map((t) => t.taskId)).toEqual(['b', 'a']);
    expect(node.state).toBe('idle');
  });

  it('hand out kill requests only for tasks the node still runs, and forget the rest', async () => {
    await heartbeat(ctx, beat(['a', 'b']));
    const node = (await ctx.nodes.read('n1', 'p'))!;
    await ctx.nodes.replace(
      { ...node.item, killRequests: [{ jobId: 'j', taskId: 'a', dispatchId: 'd-a' }, { jobId: 'j', taskId: 'gone', dispatchId: 'd-gone' }] },
      { ifMatch: node.etag },
    );
    const answer = await heartbeat(ctx, beat(['a', 'b']));
    expect(answer.kill).toEqual([{ jobId: 'j', taskId: 'a', dispatchId: 'd-a' }]);
    await heartbeat(ctx, beat(['b']));
    expect((await ctx.nodes.read('n1', 'p'))!.item.killRequests).toEqual([]);
  });

  it('hand out kill requests for tasks the node claimed ahead too, without counting them as running', async () => {
    await heartbeat(ctx, beat(['a']));
    const node = (await ctx.nodes.read('n1', 'p'))!;
    await ctx.nodes.replace({ ...node.item, killRequests: [{ jobId: 'j', taskId: 'next', dispatchId: 'd-next' }] }, { ifMatch: node.etag });
    const answer = await heartbeat(ctx, { ...beat(['a']), claimedAhead: [{ jobId: 'j', taskId: 'next', dispatchId: 'd-next' }] });
    expect(answer.kill).toEqual([{ jobId: 'j', taskId: 'next', dispatchId: 'd-next' }]);
    expect((await ctx.nodes.read('n1', 'p'))!.item.runningTasks.map((t) => t.taskId)).toEqual(['a']);
  });
});

describe('silent nodes', () => {
  it('show as offline after a few missed heartbeats, then unusable at the deadline, and recover when heard again', async () => {
    const { markSilentNodes } = await import('../../shared/app/node-service.js');
    const { resetNodeWatch } = await import('../../shared/app/node-health.js');
    resetNodeWatch();
    await markSilentNodes(ctx, 'p'); // the control plane starts watching now
    await heartbeat(ctx, beat([]));
    clock.advance(3_000);
    expect(await markSilentNodes(ctx, 'p')).toEqual([]);
    expect((await ctx.nodes.read('n1', 'p'))!.item.state).toBe('offline');
    clock.advance(8_000);
    expect(await markSilentNodes(ctx, 'p')).toEqual(['n1']);
    expect((await ctx.nodes.read('n1', 'p'))!.item.state).toBe('unusable');
    await heartbeat(ctx, beat([]));
    expect((await ctx.nodes.read('n1', 'p'))!.item.state).toBe('idle');
  });
});

describe('placement (nodeFillType)', () => {
  const of = (nodeId: string, running: number, slots = 4): HeartbeatRequest => ({
    ...beat(Array.from({ length: running }, (_, i) => `${nodeId}-${i}`)),
    nodeId,
    taskSlots: slots,
  });
  const packPool = async (fill: 'pack' | 'spread') => {
    const pool = (await ctx.pools.read('p', 'p'))!;
    await ctx.pools.replace({ ...pool.item, taskSchedulingPolicy: { nodeFillType: fill } }, { ifMatch: pool.etag });
  };

  it('tells a node to hold back while a busier node, or an idle one with an earlier id, has a free slot', async () => {
    await packPool('pack');
    await heartbeat(ctx, of('a', 0));
    expect((await heartbeat(ctx, of('b', 0))).holdBack).toBe(true); // a comes first among idle nodes
    expect((await heartbeat(ctx, of('a', 0))).holdBack).toBe(false);
    await heartbeat(ctx, of('b', 2));
    expect((await heartbeat(ctx, of('a', 0))).holdBack).toBe(true); // b is busier and has room
    expect((await heartbeat(ctx, of('b', 2))).holdBack).toBe(false);
    await heartbeat(ctx, of('b', 4));
    expect((await heartbeat(ctx, of('a', 1))).holdBack).toBe(false); // b is full
  });

  it('does not hold back for nodes that are silent, draining or not ready', async () => {
    await packPool('pack');
    await heartbeat(ctx, of('a', 1));
    expect((await heartbeat(ctx, of('b', 0))).holdBack).toBe(true);
    clock.advance(2_500); // a has missed its heartbeats
    expect((await heartbeat(ctx, of('b', 0))).holdBack).toBe(false);
    await heartbeat(ctx, of('a', 1));
    const a = (await ctx.nodes.read('a', 'p'))!;
    await ctx.nodes.replace({ ...a.item, drain: true }, { ifMatch: a.etag });
    // A change made elsewhere (scale-down sets drain) is read within a second.
    expect((await heartbeat(ctx, of('b', 0))).holdBack).toBe(true);
    clock.advance(1_000);
    expect((await heartbeat(ctx, of('b', 0))).holdBack).toBe(false);
    await heartbeat(ctx, { ...of('c', 2), state: 'waitingforstarttask' });
    expect((await heartbeat(ctx, of('b', 0))).holdBack).toBe(false);
  });

  it("reads the pool's nodes once a second, whatever the number of heartbeats", async () => {
    await packPool('pack');
    const queries = () => counted.counter.get('store.query');
    const before = queries();
    for (let beat = 0; beat < 10; beat++) {
      await heartbeat(ctx, of('a', beat % 3));
      await heartbeat(ctx, of('b', 1));
      clock.advance(250);
    }
    expect(queries() - before).toBe(3); // at 0, 1 and 2 s
    // What this process heard itself is never stale: a's load as its last heartbeat gave it.
    expect((await heartbeat(ctx, of('a', 0))).holdBack).toBe(true);
  });

  it("tells a spread pool's nodes how many other nodes run nothing", async () => {
    await packPool('spread');
    await heartbeat(ctx, of('a', 2));
    const b = await heartbeat(ctx, of('b', 0));
    expect(b.holdBack).toBeUndefined();
    expect(b.idlePeers).toBeUndefined(); // a runs tasks
    expect((await heartbeat(ctx, of('a', 2))).idlePeers).toBe(1);
    await heartbeat(ctx, of('c', 0));
    expect((await heartbeat(ctx, of('a', 2))).idlePeers).toBe(2);
    await heartbeat(ctx, of('b', 1));
    expect((await heartbeat(ctx, of('a', 2))).idlePeers).toBe(1);
    await heartbeat(ctx, of('c', 3));
    expect((await heartbeat(ctx, of('a', 2))).idlePeers).toBeUndefined();
    // A node that has gone silent is not waited for.
    await heartbeat(ctx, of('b', 0));
    expect((await heartbeat(ctx, of('a', 2))).idlePeers).toBe(1);
    clock.advance(2_500);
    expect((await heartbeat(ctx, of('a', 2))).idlePeers).toBeUndefined();
  });
});
