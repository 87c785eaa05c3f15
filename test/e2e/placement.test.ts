// Task placement on the local host with real agent processes: a pool with
// taskSchedulingPolicy.nodeFillType 'pack' fills one node's slots before another node gets work;
// one with 'spread' (the default) puts work on idle nodes first.
import { setTimeout as pause } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFnbatch, waitUntil, type FnbatchHost } from '../support/fnbatch-host.js';

let fnb: FnbatchHost;
const POOL = 'packed';
const SPREAD_POOL = 'spread';
const SLOTS = 3;
/** Two heartbeats (500 ms apart): every node has heard of the others' latest state. */
const TWO_HEARTBEATS_MS = 1_200;

const idleNodes = async (poolId: string): Promise<number> =>
  ((await fnb.call('GET', `pools/${poolId}/nodes`)).json.value as { state: string }[]).filter((n) => n.state === 'idle').length;

beforeAll(async () => {
  fnb = await startFnbatch();
  for (const [id, policy] of [[POOL, { taskSchedulingPolicy: { nodeFillType: 'pack' } }], [SPREAD_POOL, {}]] as const) {
    const created = await fnb.call('POST', 'pools', { id, vmSize: 'local', targetDedicatedNodes: 2, taskSlotsPerNode: SLOTS, ...policy });
    expect(created.status, created.text).toBe(201);
  }
  for (const id of [POOL, SPREAD_POOL]) await waitUntil(async () => (await idleNodes(id)) === 2, `pool ${id}'s nodes to be idle`);
}, 120_000);

afterAll(async () => {
  await fnb?.stop().catch(() => {});
});

/**
 * A burst that keeps both of the pool's nodes busy for a moment, so both poll the queue as often
 * as nodes that have just had work do: which node looks first is then left to chance, and only
 * the pool's policy decides where the tasks that follow go.
 */
async function warmUp(poolId: string): Promise<void> {
  const jobId = `warm-up-${poolId}`;
  const warm = await fnb.call('POST', 'jobs', {
    id: jobId,
    poolInfo: { poolId },
    onAllTasksComplete: 'terminatejob',
    tasks: Array.from({ length: 2 * SLOTS }, (_, i) => ({ id: `w${i}`, commandLine: 'sleep 0.5' })),
  });
  expect(warm.status, warm.text).toBe(201);
  await waitUntil(async () => (await fnb.call('GET', `jobs/${jobId}`)).json.state === 'completed', `the warm-up job of ${poolId}`);
  const warmNodes = new Set(((await fnb.call('GET', `jobs/${jobId}/tasks`)).json.value as { nodeInfo: { nodeId: string } }[]).map((t) => t.nodeInfo.nodeId));
  expect(warmNodes.size).toBe(2);
}

/** The node a task runs on, once it runs. */
const nodeOf = async (jobId: string, taskId: string): Promise<string> =>
  waitUntil(async () => {
    const task = (await fnb.call('GET', `jobs/${jobId}/tasks/${taskId}`)).json as { state: string; nodeInfo?: { nodeId: string } };
    return task.state === 'running' ? task.nodeInfo?.nodeId : undefined;
  }, `${jobId}/${taskId} to run`);

/** Adds tasks one by one, each once the one before runs and every node has heard where: where each ran. */
async function placeOneByOne(jobId: string, count: number): Promise<string[]> {
  const placed: string[] = [];
  for (let i = 0; i < count; i++) {
    const added = await fnb.call('POST', `jobs/${jobId}/tasks`, { id: `t${i}`, commandLine: 'sleep 30' });
    expect(added.status, added.text).toBe(201);
    placed.push(await nodeOf(jobId, `t${i}`));
    // Every node has heard where the task runs before the next comes.
    await pause(TWO_HEARTBEATS_MS);
  }
  return placed;
}

describe('pack', () => {
  it('runs tasks arriving one by one on one node until its slots are full, then on the next', async () => {
    await warmUp(POOL);
    expect((await fnb.call('POST', 'jobs', { id: 'one-by-one', poolInfo: { poolId: POOL } })).status).toBe(201);
    const placed = await placeOneByOne('one-by-one', SLOTS + 1);
    expect(new Set(placed.slice(0, SLOTS)).size).toBe(1);
    expect(placed[SLOTS]).not.toBe(placed[0]);
    expect((await fnb.call('POST', 'jobs/one-by-one/terminate')).status).toBe(202);
  }, 120_000);
});

describe('spread', () => {
  it('starts a burst of as many tasks as nodes one on each node, and a task arriving alone on an idle node', async () => {
    await warmUp(SPREAD_POOL);
    // Each node has heard that the other is idle again.
    await pause(TWO_HEARTBEATS_MS);
    const burst = await fnb.call('POST', 'jobs', {
      id: 'spread-burst',
      poolInfo: { poolId: SPREAD_POOL },
      tasks: [{ id: 'b0', commandLine: 'sleep 30' }, { id: 'b1', commandLine: 'sleep 30' }],
    });
    expect(burst.status, burst.text).toBe(201);
    expect(new Set([await nodeOf('spread-burst', 'b0'), await nodeOf('spread-burst', 'b1')]).size).toBe(2);
    expect((await fnb.call('POST', 'jobs/spread-burst/terminate')).status).toBe(202);
    await waitUntil(async () => (await idleNodes(SPREAD_POOL)) === 2, 'both nodes idle again');
    await pause(TWO_HEARTBEATS_MS);

    // One by one: the second goes to the node the first left idle.
    expect((await fnb.call('POST', 'jobs', { id: 'spread-one-by-one', poolInfo: { poolId: SPREAD_POOL } })).status).toBe(201);
    const placed = await placeOneByOne('spread-one-by-one', 2);
    expect(new Set(placed).size, `nodes of t0, t1: ${placed.join(', ')}`).toBe(2);
    expect((await fnb.call('POST', 'jobs/spread-one-by-one/terminate')).status).toBe(202);
  }, 120_000);
});
