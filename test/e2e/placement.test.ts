// Task placement on the local host with real agent processes: a pool with
// taskSchedulingPolicy.nodeFillType 'pack' fills one node's slots before another node gets work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFnbatch, waitUntil, type FnbatchHost } from '../support/fnbatch-host.js';

let fnb: FnbatchHost;
const POOL = 'packed';
const SLOTS = 3;

beforeAll(async () => {
  fnb = await startFnbatch();
  const created = await fnb.call('POST', 'pools', { id: POOL, vmSize: 'local', targetDedicatedNodes: 2, taskSlotsPerNode: SLOTS, taskSchedulingPolicy: { nodeFillType: 'pack' } });
  expect(created.status, created.text).toBe(201);
  await waitUntil(async () => {
    const nodes = (await fnb.call('GET', `pools/${POOL}/nodes`)).json.value as { state: string }[];
    return nodes.filter((n) => n.state === 'idle').length === 2;
  }, 'the pool nodes to be idle');
}, 120_000);

afterAll(async () => {
  await fnb?.stop().catch(() => {});
});

describe('pack', () => {
  it('runs tasks arriving one by one on one node until its slots are full, then on the next', async () => {
    // First a burst that keeps both nodes busy for a moment, so both poll the queue as often as
    // nodes that have just had work do: which node looks first is then left to chance, and only
    // pack decides where the tasks below go.
    const warm = await fnb.call('POST', 'jobs', {
      id: 'warm-up',
      poolInfo: { poolId: POOL },
      onAllTasksComplete: 'terminatejob',
      tasks: Array.from({ length: 2 * SLOTS }, (_, i) => ({ id: `w${i}`, commandLine: 'sleep 0.5' })),
    });
    expect(warm.status, warm.text).toBe(201);
    await waitUntil(async () => (await fnb.call('GET', 'jobs/warm-up')).json.state === 'completed', 'the warm-up job');
    const warmNodes = new Set(((await fnb.call('GET', 'jobs/warm-up/tasks')).json.value as { nodeInfo: { nodeId: string } }[]).map((t) => t.nodeInfo.nodeId));
    expect(warmNodes.size).toBe(2);

    expect((await fnb.call('POST', 'jobs', { id: 'one-by-one', poolInfo: { poolId: POOL } })).status).toBe(201);
    const nodeOf = async (taskId: string): Promise<string> =>
      waitUntil(async () => {
        const task = (await fnb.call('GET', `jobs/one-by-one/tasks/${taskId}`)).json as { state: string; nodeInfo?: { nodeId: string } };
        return task.state === 'running' ? task.nodeInfo?.nodeId : undefined;
      }, `${taskId} to run`);
    const placed: string[] = [];
    for (let i = 0; i <= SLOTS; i++) {
      const added = await fnb.call('POST', 'jobs/one-by-one/tasks', { id: `t${i}`, commandLine: 'sleep 30' });
      expect(added.status, added.text).toBe(201);
      placed.push(await nodeOf(`t${i}`));
      // Two heartbeats (500 ms apart): every node has heard where the task runs before the next comes.
      await new Promise((resolve) => setTimeout(resolve, 1_200));
    }
    expect(new Set(placed.slice(0, SLOTS)).size).toBe(1);
    expect(placed[SLOTS]).not.toBe(placed[0]);
    expect((await fnb.call('POST', 'jobs/one-by-one/terminate')).status).toBe(202);
  }, 120_000);
});
