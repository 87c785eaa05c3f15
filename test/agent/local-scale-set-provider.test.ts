// The local scale-set provider: nodes as real agent processes (`bin/fnbatch.js agent`; needs
// `npm run build`), grown, deleted, evicted and crashed, working against Azurite and the
// control-plane double.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type AzuriteHandle } from '../../local-host/services/azurite.js';
import { LocalScaleSetProvider } from '../../shared/adapters/local-scale-set-provider.js';
import { ScaleSetError, type ProvisionedNode } from '../../shared/ports/scale-set-provider.js';
import { ControlPlaneDouble, TEST_AGENT_KEY } from './support/control-plane-double.js';
import { agentPids, enqueue, sessionOf, taskMessage, uniquePoolId, waitFor } from './support/fixtures.js';

let azurite: AzuriteHandle;
let controlPlane: ControlPlaneDouble;
let provider: LocalScaleSetProvider;

beforeAll(async () => {
  azurite = await startAzurite({ inMemory: true });
  controlPlane = await ControlPlaneDouble.start();
  provider = new LocalScaleSetProvider({
    endpoint: controlPlane.baseUrl,
    agentKey: TEST_AGENT_KEY,
    storageConnectionString: azurite.connectionString,
    workRoot: await mkdtemp(path.join(os.tmpdir(), 'fnbatch-local-nodes-')),
    deleteGraceMs: 5_000,
  });
});

afterAll(async () => {
  await provider?.stopAll();
  await controlPlane?.stop();
  await azurite?.stop();
});

const byId = (nodes: ProvisionedNode[]) => Object.fromEntries(nodes.map((n) => [n.nodeId, n.state]));
const heartbeatFrom = (nodeId: string, since = 0) =>
  waitFor(() => controlPlane.heartbeats.find((h) => h.body.nodeId === nodeId && h.at >= since), `a heartbeat from ${nodeId}`);

describe('LocalScaleSetProvider', () => {
  it('refuses pools it was not told about', async () => {
    await expect(provider.growTo('nowhere', 'dedicated', 1)).rejects.toMatchObject({ code: 'NotFound' });
    await expect(provider.listNodes('nowhere')).rejects.toBeInstanceOf(ScaleSetError);
  });

  it('grows, deletes, evicts and crashes agent processes with never-reused node ids', async () => {
    const poolId = uniquePoolId();
    await provider.ensurePool({ poolId, vmSize: 'local', taskSlotsPerNode: 2 });
    await provider.ensurePool({ poolId, vmSize: 'local', taskSlotsPerNode: 2 });

    await provider.growTo(poolId, 'dedicated', 2);
    expect(Object.keys(byId(await provider.listNodes(poolId))).sort()).toEqual([`${poolId}-d1`, `${poolId}-d2`]);
    await waitFor(async () => ((await provider.listNodes(poolId)).every((n) => n.state === 'running') ? true : undefined), 'nodes running');
    const first = await heartbeatFrom(`${poolId}-d1`);
    expect(first.body).toMatchObject({ poolId, isDedicated: true, taskSlots: 2 });
    await heartbeatFrom(`${poolId}-d2`);
    expect(agentPids(`${poolId}-d1`)).toHaveLength(1);
    // Each node's agent leads its own session, apart from the host and from the other nodes.
    const [d1] = agentPids(`${poolId}-d1`);
    const [d2] = agentPids(`${poolId}-d2`);
    expect(sessionOf(d1!)).toBe(d1);
    expect(sessionOf(d2!)).toBe(d2);
    expect(sessionOf(process.pid)).not.toBe(d1);

    // The nodes do work.
    const task = taskMessage('true');
    await enqueue(azurite.connectionString, poolId, task);
    const done = await waitFor(() => controlPlane.completionOf(task.taskId), 'the task to complete');
    expect(done.exitCode).toBe(0);
    expect([`${poolId}-d1`, `${poolId}-d2`]).toContain(done.nodeId);

    // Growing never shrinks.
    await provider.growTo(poolId, 'dedicated', 1);
    expect(await provider.listNodes(poolId)).toHaveLength(2);

    await provider.deleteNodes(poolId, [`${poolId}-d1`]);
    expect(agentPids(`${poolId}-d1`)).toEqual([]);
    expect(byId(await provider.listNodes(poolId))).toEqual({ [`${poolId}-d2`]: 'running' });
    await provider.growTo(poolId, 'dedicated', 2);
    expect(Object.keys(byId(await provider.listNodes(poolId))).sort()).toEqual([`${poolId}-d2`, `${poolId}-d3`]);

    // Spot nodes: evicted ones stop counting, so growing again replaces them.
    await provider.growTo(poolId, 'lowPriority', 2);
    const spot = await heartbeatFrom(`${poolId}-lp1`);
    expect(spot.body.isDedicated).toBe(false);
    await provider.evict(poolId, `${poolId}-lp1`);
    expect(agentPids(`${poolId}-lp1`)).toEqual([]);
    expect(byId(await provider.listNodes(poolId))[`${poolId}-lp1`]).toBe('evicted');
    await provider.growTo(poolId, 'lowPriority', 2);
    const nodes = byId(await provider.listNodes(poolId));
    expect(Object.keys(nodes).filter((id) => id.startsWith(`${poolId}-lp`)).sort()).toEqual([`${poolId}-lp1`, `${poolId}-lp2`, `${poolId}-lp3`]);
    const victim = await provider.evictRandom(poolId, () => 0.99);
    expect(victim).toBe(`${poolId}-lp3`);
    expect(byId(await provider.listNodes(poolId))[`${poolId}-lp3`]).toBe('evicted');

    // A crash leaves a failed node that still counts, as a failed instance does in a scale set.
    await provider.crash(poolId, `${poolId}-d2`);
    expect(agentPids(`${poolId}-d2`)).toEqual([]);
    expect(byId(await provider.listNodes(poolId))[`${poolId}-d2`]).toBe('failed');
    await provider.growTo(poolId, 'dedicated', 2);
    expect(Object.keys(byId(await provider.listNodes(poolId))).filter((id) => id.startsWith(`${poolId}-d`)).sort()).toEqual([`${poolId}-d2`, `${poolId}-d3`]);

    await provider.deletePool(poolId);
    for (const id of [`${poolId}-d3`, `${poolId}-lp2`]) expect(agentPids(id)).toEqual([]);
    await expect(provider.listNodes(poolId)).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('passes the start task to its nodes and drops a node whose agent was told to shut down', async () => {
    const poolId = uniquePoolId();
    await provider.ensurePool({
      poolId,
      vmSize: 'local',
      taskSlotsPerNode: 1,
      startTask: { commandLine: 'true', environmentSettings: [], waitForSuccess: true },
    });
    await provider.growTo(poolId, 'dedicated', 1);
    const nodeId = `${poolId}-d1`;
    await waitFor(() => controlPlane.startTasks.find((s) => s.body.nodeId === nodeId), 'the start task report');
    expect(controlPlane.startTasks.find((s) => s.body.nodeId === nodeId)!.body).toMatchObject({ succeeded: true, exitCode: 0 });

    controlPlane.setShutdown(true);
    try {
      await waitFor(async () => ((await provider.listNodes(poolId)).length === 0 ? true : undefined), 'the node to leave');
    } finally {
      controlPlane.setShutdown(false);
    }
    expect(agentPids(nodeId)).toEqual([]);
  });
});
