// Pools: the API's operations, and the reconciler that moves a pool's nodes toward its targets.
// Growth asks the node provider for capacity; shrinking picks nodes (idle first), handles their
// tasks as nodeDeallocationOption says, and deletes exactly those nodes.
import { BatchError, poolNotFound, stateConflict } from '../batch/index.js';
import { validatePool, validateResize, type PoolSpec } from '../batch/pool-validation.js';
import type { NodePriority, ProvisionedNode } from '../ports/scale-set-provider.js';
import { isStoreError } from '../ports/errors.js';
import type { Stored } from '../ports/document-store.js';
import type { AppContext } from './context.js';
import { nodeKey, poolKey, type NodeDoc, type PoolDoc } from './documents.js';
import { updateWithRetry } from './etag-retry.js';
import { newNodeDoc } from './node-service.js';

export function poolLimits(env: NodeJS.ProcessEnv = process.env) {
  return {
    maxDedicated: Number(env.FNBATCH_MAX_DEDICATED_NODES ?? 100),
    maxLowPriority: Number(env.FNBATCH_MAX_SPOT_NODES ?? 100),
  };
}

export async function createPool(ctx: AppContext, body: unknown): Promise<Stored<PoolDoc>> {
  const spec = validatePool(body, poolLimits());
  const at = new Date(ctx.now()).toISOString();
  const doc = newPoolDoc(spec, at);
  let stored: Stored<PoolDoc>;
  try {
    stored = await ctx.pools.create(doc);
  } catch (err) {
    if (isStoreError(err, 'Conflict')) throw new BatchError(409, 'PoolExists', 'The specified pool already exists.', [{ key: 'PoolId', value: spec.id }]);
    throw err;
  }
  try {
    const provider = await ctx.scaleSets();
    await provider.ensurePool({ poolId: spec.id, vmSize: spec.vmSize, taskSlotsPerNode: spec.taskSlotsPerNode, startTask: spec.startTask });
  } catch (err) {
    await ctx.pools.delete(doc.id, doc.id).catch(() => {});
    throw new BatchError(409, 'PoolProvisioningFailed', `The pool's nodes cannot be provisioned: ${(err as Error).message}`);
  }
  return stored;
}

function newPoolDoc(spec: PoolSpec, at: string): PoolDoc {
  return {
    id: poolKey(spec.id),
    poolId: spec.id,
    vmSize: spec.vmSize,
    state: 'active',
    allocationState: spec.targetDedicatedNodes + spec.targetLowPriorityNodes > 0 ? 'resizing' : 'steady',
    allocationStateTransitionTime: at,
    creationTime: at,
    lastModified: at,
    targetDedicatedNodes: spec.targetDedicatedNodes,
    targetLowPriorityNodes: spec.targetLowPriorityNodes,
    currentDedicatedNodes: 0,
    currentLowPriorityNodes: 0,
    taskSlotsPerNode: spec.taskSlotsPerNode,
    taskSchedulingPolicy: spec.taskSchedulingPolicy,
    startTask: spec.startTask,
    enableAutoScale: spec.enableAutoScale,
    autoScaleFormula: spec.autoScaleFormula,
    autoScaleEvaluationInterval: spec.autoScaleEvaluationInterval,
    resizeErrors: [],
    nodeDeallocationOption: 'requeue',
  };
}

export async function getPool(ctx: AppContext, poolId: string): Promise<Stored<PoolDoc>> {
  const pool = await ctx.pools.read(poolKey(poolId), poolKey(poolId));
  if (!pool) throw poolNotFound(poolId);
  return pool;
}

export async function listPools(ctx: AppContext): Promise<Stored<PoolDoc>[]> {
  return (await ctx.pools.queryAll()).items;
}

export async function listNodes(ctx: AppContext, poolId: string): Promise<Stored<NodeDoc>[]> {
  const pool = await getPool(ctx, poolId);
  return (await ctx.nodes.query(pool.item.id)).items;
}

export async function resizePool(ctx: AppContext, poolId: string, body: unknown): Promise<void> {
  const resize = validateResize(body, poolLimits());
  const at = new Date(ctx.now()).toISOString();
  const result = await updateWithRetry(ctx.pools, poolKey(poolId), poolKey(poolId), ({ item }) => {
    if (item.state === 'deleting') throw stateConflict('PoolBeingDeleted', 'The pool is being deleted.', 'The pool is being deleted');
    if (item.enableAutoScale) throw stateConflict('AutoScalingEnabled', 'The pool is autoscaled; disable autoscale before resizing it.', 'Autoscale is enabled');
    return {
      ...item,
      targetDedicatedNodes: resize.targetDedicatedNodes ?? item.targetDedicatedNodes,
      targetLowPriorityNodes: resize.targetLowPriorityNodes ?? item.targetLowPriorityNodes,
      nodeDeallocationOption: resize.nodeDeallocationOption,
      allocationState: 'resizing' as const,
      allocationStateTransitionTime: at,
      lastModified: at,
      resizeErrors: [],
    };
  });
  if (!result) throw poolNotFound(poolId);
}

/** Stops a resize: the targets become what the pool has now. */
export async function stopResize(ctx: AppContext, poolId: string): Promise<void> {
  const at = new Date(ctx.now()).toISOString();
  const result = await updateWithRetry(ctx.pools, poolKey(poolId), poolKey(poolId), ({ item }) => {
    if (item.allocationState !== 'resizing') throw stateConflict('PoolNotResizing', 'The pool is not resizing.', 'The pool is not resizing');
    return {
      ...item,
      targetDedicatedNodes: item.currentDedicatedNodes,
      targetLowPriorityNodes: item.currentLowPriorityNodes,
      allocationState: 'steady' as const,
      allocationStateTransitionTime: at,
      lastModified: at,
    };
  });
  if (!result) throw poolNotFound(poolId);
}

export async function deletePool(ctx: AppContext, poolId: string): Promise<void> {
  const at = new Date(ctx.now()).toISOString();
  const result = await updateWithRetry(ctx.pools, poolKey(poolId), poolKey(poolId), ({ item }) =>
    item.state === 'deleting' ? undefined : { ...item, state: 'deleting' as const, allocationState: 'stopping' as const, allocationStateTransitionTime: at },
  );
  if (!result) throw poolNotFound(poolId);
  const provider = await ctx.scaleSets();
  await provider.deletePool(result.before.item.poolId);
  const nodes = await ctx.nodes.query(poolKey(poolId));
  await Promise.all(nodes.items.map((n) => ctx.nodes.delete(n.item.id, n.item.poolId).catch(() => {})));
  await ctx.pools.delete(poolKey(poolId), poolKey(poolId));
}

// ---- reconciling ------------------------------------------------------------------------------

const LIVE: ReadonlySet<ProvisionedNode['state']> = new Set(['creating', 'running']);

/** Moves one pool toward its targets; safe to run repeatedly and concurrently with the API. */
export async function reconcilePool(ctx: AppContext, poolId: string): Promise<void> {
  const pool = await ctx.pools.read(poolKey(poolId), poolKey(poolId));
  if (!pool || pool.item.state === 'deleting') return;
  const provider = await ctx.scaleSets();
  const provisioned = await provider.listNodes(pool.item.poolId);
  const docs = new Map((await ctx.nodes.query(pool.item.id)).items.map((n) => [n.item.id, n.item]));
  const at = new Date(ctx.now()).toISOString();
  await syncNodeDocs(ctx, pool.item, provisioned, docs, at);

  const errors: PoolDoc['resizeErrors'] = [];
  for (const priority of ['dedicated', 'lowPriority'] as NodePriority[]) {
    const target = priority === 'dedicated' ? pool.item.targetDedicatedNodes : pool.item.targetLowPriorityNodes;
    const live = provisioned.filter((n) => n.priority === priority && LIVE.has(n.state));
    const leaving = live.filter((n) => docs.get(nodeKey(n.nodeId))?.state === 'leavingpool');
    const staying = live.length - leaving.length;
    try {
      if (staying < target) {
        await provider.growTo(pool.item.poolId, priority, target + leaving.length);
      } else if (staying > target) {
        const victims = chooseVictims(live.filter((n) => !leaving.includes(n)), docs, staying - target);
        await beginRemoval(ctx, pool.item, victims, at);
      }
      await finishRemoval(ctx, pool.item, leaving, docs);
    } catch (err) {
      errors.push({ code: (err as { code?: string }).code ?? 'ResizeFailed', message: (err as Error).message });
    }
  }

  const after = await provider.listNodes(pool.item.poolId);
  const current = (p: NodePriority) => after.filter((n) => n.priority === p && n.state === 'running').length;
  await updateWithRetry(ctx.pools, pool.item.id, pool.item.id, ({ item }) => {
    const dedicated = current('dedicated');
    const low = current('lowPriority');
    const steady = dedicated === item.targetDedicatedNodes && low === item.targetLowPriorityNodes;
    const allocationState = steady ? ('steady' as const) : ('resizing' as const);
    const changed =
      dedicated !== item.currentDedicatedNodes ||
      low !== item.currentLowPriorityNodes ||
      allocationState !== item.allocationState ||
      JSON.stringify(errors) !== JSON.stringify(item.resizeErrors);
    if (!changed) return undefined;
    return {
      ...item,
      currentDedicatedNodes: dedicated,
      currentLowPriorityNodes: low,
      allocationState,
      allocationStateTransitionTime: allocationState === item.allocationState ? item.allocationStateTransitionTime : at,
      resizeErrors: errors,
    };
  });
}

/** Idle nodes first, then the least busy; never a node already leaving. */
function chooseVictims(candidates: ProvisionedNode[], docs: Map<string, NodeDoc>, count: number): ProvisionedNode[] {
  const busy = (n: ProvisionedNode) => docs.get(nodeKey(n.nodeId))?.runningTasks.length ?? 0;
  return [...candidates].sort((a, b) => busy(a) - busy(b) || (a.nodeId < b.nodeId ? 1 : -1)).slice(0, count);
}

async function beginRemoval(ctx: AppContext, pool: PoolDoc, victims: ProvisionedNode[], at: string): Promise<void> {
  const option = pool.nodeDeallocationOption;
  for (const victim of victims) {
    await updateWithRetry(ctx.nodes, nodeKey(victim.nodeId), pool.id, ({ item }) => ({
      ...item,
      state: 'leavingpool' as const,
      stateTransitionTime: at,
      drain: true,
      // requeue/terminate: leave now (the agent gives back what it holds); taskcompletion and
      // retaineddata: finish running tasks first.
      shutdown: option === 'requeue' || option === 'terminate',
      killRequests: option === 'terminate' ? [...item.killRequests, ...item.runningTasks] : item.killRequests,
    }));
  }
}

async function finishRemoval(ctx: AppContext, pool: PoolDoc, leaving: ProvisionedNode[], docs: Map<string, NodeDoc>): Promise<void> {
  const done = leaving.filter((n) => {
    const doc = docs.get(nodeKey(n.nodeId));
    return !doc || doc.runningTasks.length === 0 || doc.state === 'unusable';
  });
  if (!done.length) return;
  const provider = await ctx.scaleSets();
  await provider.deleteNodes(pool.poolId, done.map((n) => n.nodeId));
  await Promise.all(done.map((n) => ctx.nodes.delete(nodeKey(n.nodeId), pool.id).catch(() => {})));
}

/** Node documents for provider nodes that have not heartbeated yet, and preempted ones. */
async function syncNodeDocs(ctx: AppContext, pool: PoolDoc, provisioned: ProvisionedNode[], docs: Map<string, NodeDoc>, at: string) {
  for (const node of provisioned) {
    const key = nodeKey(node.nodeId);
    const doc = docs.get(key);
    if (!doc && LIVE.has(node.state)) {
      const created = newNodeDoc(pool.poolId, node.nodeId, node.priority === 'dedicated', pool.taskSlotsPerNode, at);
      await ctx.nodes.create(created).catch(() => {});
      docs.set(key, created);
    } else if (doc && node.state === 'evicted' && doc.state !== 'preempted') {
      await updateWithRetry(ctx.nodes, key, pool.id, ({ item }) => ({ ...item, state: 'preempted' as const, stateTransitionTime: at }));
    }
  }
}
