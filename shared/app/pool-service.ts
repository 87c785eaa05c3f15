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
import { activeJobsOfPool } from './autoscale-metrics.js';
import { requeueTasksOfLostNode } from './autoscale-node-loss.js';
import { resizes } from './autoscale-resize-tracker.js';
import { initialAutoScaleState } from './autoscale-state.js';
import { isSilent } from './node-health.js';

export function poolLimits(env: NodeJS.ProcessEnv = process.env) {
  return {
    maxDedicated: Number(env.FNBATCH_MAX_DEDICATED_NODES ?? 100),
    maxLowPriority: Number(env.FNBATCH_MAX_SPOT_NODES ?? 100),
  };
}

export async function createPool(ctx: AppContext, body: unknown): Promise<Stored<PoolDoc>> {
  const spec = validatePool(body, poolLimits());
  const at = new Date(ctx.now()).toISOString();
  const doc = newPoolDoc(spec, at, ctx.now());
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

function newPoolDoc(spec: PoolSpec, at: string, now: number): PoolDoc {
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
    ...(spec.enableAutoScale ? { autoScaleState: initialAutoScaleState(now) } : {}),
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
  await resizes.forgetPool(poolKey(poolId));
  const provider = await ctx.scaleSets();
  await provider.deletePool(result.before.item.poolId);
  const nodes = await ctx.nodes.query(poolKey(poolId));
  await Promise.all(nodes.items.map((n) => ctx.nodes.delete(n.item.id, n.item.poolId).catch(() => {})));
  await ctx.pools.delete(poolKey(poolId), poolKey(poolId));
}

// ---- reconciling ------------------------------------------------------------------------------

const LIVE: ReadonlySet<ProvisionedNode['state']> = new Set(['creating', 'running']);
const PRIORITIES: readonly NodePriority[] = ['dedicated', 'lowPriority'];
/** How long a preempted or unusable node stays listed after its instance is gone. */
export const LOST_NODE_RETENTION_MS = 10 * 60_000;

/**
 * Moves one pool toward its targets; safe to run repeatedly and concurrently with the API. Growth
 * runs in the background (see autoscale-resize-tracker.ts); a growth that the targets no longer
 * want is aborted before anything else is decided.
 */
export async function reconcilePool(ctx: AppContext, poolId: string): Promise<void> {
  const pool = await ctx.pools.read(poolKey(poolId), poolKey(poolId));
  if (!pool || pool.item.state === 'deleting') return;
  const provider = await ctx.scaleSets();
  let provisioned = await provider.listNodes(pool.item.poolId);
  const docs = new Map((await ctx.nodes.query(pool.item.id)).items.map((n) => [n.item.id, n.item]));
  const at = new Date(ctx.now()).toISOString();
  await syncNodeDocs(ctx, pool.item, provisioned, docs, at);
  if (await cancelUnwantedGrowth(pool.item, provisioned, docs)) provisioned = await provider.listNodes(pool.item.poolId);

  const errors: PoolDoc['resizeErrors'] = [];
  const claimed = await claimedTaskCounts(ctx, pool.item, docs);
  for (const priority of PRIORITIES) {
    const target = targetOf(pool.item, priority);
    const live = provisioned.filter((n) => n.priority === priority && isUsable(pool.item, n, docs));
    const leaving = live.filter((n) => docs.get(nodeKey(n.nodeId))?.state === 'leavingpool');
    const staying = live.length - leaving.length;
    const { finished } = resizes.takeGrowth(pool.item.id, priority);
    if (finished?.error) errors.push(finished.error);
    try {
      if (staying < target) {
        if (!resizes.takeGrowth(pool.item.id, priority).running) resizes.startGrowth(provider, pool.item.id, pool.item.poolId, priority, target + leaving.length);
      } else if (staying > target) {
        const victims = chooseVictims(live.filter((n) => !leaving.includes(n)), docs, staying - target);
        await beginRemoval(ctx, pool.item, victims, at);
      }
      await finishRemoval(ctx, pool.item, leaving, docs, claimed, (err) => errors.push({ code: 'NodeDeletionFailed', message: err.message }));
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

/** Live at the provider, not lost (unusable, preempted) and not already being deleted. */
function isUsable(pool: PoolDoc, node: ProvisionedNode, docs: Map<string, NodeDoc>): boolean {
  if (!LIVE.has(node.state) || resizes.isDeleting(pool.id, nodeKey(node.nodeId))) return false;
  const state = docs.get(nodeKey(node.nodeId))?.state;
  return state !== 'unusable' && state !== 'preempted';
}

function targetOf(pool: PoolDoc, priority: NodePriority): number {
  return priority === 'dedicated' ? pool.targetDedicatedNodes : pool.targetLowPriorityNodes;
}

/** A growth in flight toward more nodes than the targets now want is stopped (a newer resize won). */
async function cancelUnwantedGrowth(pool: PoolDoc, provisioned: ProvisionedNode[], docs: Map<string, NodeDoc>): Promise<boolean> {
  let cancelled = false;
  for (const priority of PRIORITIES) {
    const { running } = resizes.takeGrowth(pool.id, priority);
    if (!running) continue;
    const leaving = provisioned.filter(
      (n) => n.priority === priority && isUsable(pool, n, docs) && docs.get(nodeKey(n.nodeId))?.state === 'leavingpool',
    ).length;
    if (running.capacity !== targetOf(pool, priority) + leaving) {
      await resizes.cancelGrowth(pool.id, priority);
      cancelled = true;
    }
  }
  return cancelled;
}

/** Idle nodes first, then the least busy; never a node already leaving. */
function chooseVictims(candidates: ProvisionedNode[], docs: Map<string, NodeDoc>, count: number): ProvisionedNode[] {
  const busy = (n: ProvisionedNode) => docs.get(nodeKey(n.nodeId))?.runningTasks.length ?? 0;
  return [...candidates].sort((a, b) => busy(a) - busy(b) || (a.nodeId < b.nodeId ? 1 : -1)).slice(0, count);
}

async function beginRemoval(ctx: AppContext, pool: PoolDoc, victims: ProvisionedNode[], at: string): Promise<void> {
  // retaineddata is treated as taskcompletion: fnbatch keeps no task data on nodes beyond the
  // outputs already uploaded to blob storage, so there is nothing further to wait for.
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

/**
 * Deletes leaving nodes that hold nothing any more. "Nothing" needs three signs: the node
 * heartbeated after it was told to leave (so its report is not older than the order), it reported
 * no running task, and the store has no task claimed by it (a claim may be newer than the
 * heartbeat). A leaving node that died is deleted too, after its tasks are requeued.
 */
async function finishRemoval(
  ctx: AppContext,
  pool: PoolDoc,
  leaving: ProvisionedNode[],
  docs: Map<string, NodeDoc>,
  claimed: Map<string, number>,
  onError: (err: Error) => void,
): Promise<void> {
  const now = ctx.now();
  const done: string[] = [];
  for (const node of leaving) {
    const doc = docs.get(nodeKey(node.nodeId));
    const dead = !doc || isSilent(ctx, doc.lastHeartbeatAt);
    if (dead) {
      await requeueTasksOfLostNode(ctx, pool, node.nodeId);
      done.push(node.nodeId);
      continue;
    }
    const heardSinceOrder = doc.lastHeartbeatAt === undefined || doc.lastHeartbeatAt >= Date.parse(doc.stateTransitionTime);
    // A node told to shut down gives its tasks back through the store (release, or a terminated
    // completion) and may exit without another heartbeat: the store alone says when it is empty.
    const reportsEmpty = doc.shutdown || doc.runningTasks.length === 0;
    if (heardSinceOrder && reportsEmpty && !claimed.get(doc.id)) done.push(node.nodeId);
  }
  if (done.length) deleteInBackground(ctx, pool, done, onError);
}

function deleteInBackground(ctx: AppContext, pool: PoolDoc, nodeIds: string[], onError: (err: Error) => void): void {
  const fresh = nodeIds.filter((id) => !resizes.isDeleting(pool.id, nodeKey(id)));
  if (!fresh.length) return;
  void resizes.startDeletion(
    pool.id,
    fresh.map(nodeKey),
    async (signal) => {
      const provider = await ctx.scaleSets();
      await provider.deleteNodes(pool.poolId, fresh, signal);
      // A removed node's document goes with it; a lost node's stays a while to be seen (and counted).
      for (const id of fresh) {
        const doc = await ctx.nodes.read(nodeKey(id), pool.id);
        if (doc?.item.state === 'leavingpool') await ctx.nodes.delete(nodeKey(id), pool.id, { ifMatch: doc.etag }).catch(() => {});
      }
    },
    onError,
  );
}

/** Claimed tasks per node (lower-cased id), read only when some node is leaving. */
async function claimedTaskCounts(ctx: AppContext, pool: PoolDoc, docs: Map<string, NodeDoc>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (![...docs.values()].some((d) => d.state === 'leavingpool')) return counts;
  for (const job of await activeJobsOfPool(ctx, pool.poolId)) {
    let continuation: string | undefined;
    do {
      const page = await ctx.tasks.query(job.id, { where: { scheduling: 'claimed' }, limit: 1000, continuation });
      for (const { item } of page.items) {
        if (!item.nodeInfo) continue;
        const key = nodeKey(item.nodeInfo.nodeId);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      continuation = page.continuation;
    } while (continuation);
  }
  return counts;
}

/**
 * Node documents follow the provider: a document for every live node that has not heartbeated
 * yet; an evicted node becomes preempted and a failed one unusable, their tasks requeued at once
 * and their instances deleted so the pool can replace them; documents of lost nodes go after
 * LOST_NODE_RETENTION_MS.
 */
async function syncNodeDocs(ctx: AppContext, pool: PoolDoc, provisioned: ProvisionedNode[], docs: Map<string, NodeDoc>, at: string) {
  const now = ctx.now();
  const listed = new Set(provisioned.map((n) => nodeKey(n.nodeId)));
  const lostInstances: string[] = [];
  let requeueFailure: unknown;
  for (const node of provisioned) {
    const key = nodeKey(node.nodeId);
    const doc = docs.get(key);
    if (!doc && LIVE.has(node.state)) {
      const created = newNodeDoc(pool.poolId, node.nodeId, node.priority === 'dedicated', pool.taskSlotsPerNode, at);
      await ctx.nodes.create(created).catch(() => {});
      docs.set(key, created);
      continue;
    }
    const lostAs = node.state === 'evicted' ? ('preempted' as const) : node.state === 'failed' ? ('unusable' as const) : undefined;
    if (doc && lostAs && doc.state !== lostAs) {
      const updated = await updateWithRetry(ctx.nodes, key, pool.id, ({ item }) => ({ ...item, state: lostAs, stateTransitionTime: at, runningTasks: [] }));
      if (updated?.after) docs.set(key, updated.after.item);
      // A task whose message could not be sent comes back with its old message's lease.
      await requeueTasksOfLostNode(ctx, pool, node.nodeId).catch((error: unknown) => (requeueFailure ??= error));
    }
    const lostFor = doc ? now - Date.parse(doc.stateTransitionTime) : Infinity;
    if (node.state === 'failed' || (node.state === 'evicted' && lostFor > LOST_NODE_RETENTION_MS)) lostInstances.push(node.nodeId);
  }
  if (lostInstances.length) {
    deleteInBackground(ctx, pool, lostInstances, () => undefined);
  }
  for (const doc of docs.values()) {
    if (listed.has(doc.id)) continue;
    const lost = doc.state === 'preempted' || doc.state === 'unusable';
    const expired = lost && now - Date.parse(doc.stateTransitionTime) > LOST_NODE_RETENTION_MS;
    if (expired || doc.state === 'leavingpool') {
      await ctx.nodes.delete(doc.id, pool.id).catch(() => {});
      docs.delete(doc.id);
    }
  }
  if (requeueFailure) throw requeueFailure;
}

/** Nodes whose heartbeats stopped: unusable, their tasks requeued, their instances replaced. */
export async function handleSilentNodes(ctx: AppContext, poolId: string, silentNodeIds: string[]): Promise<void> {
  if (!silentNodeIds.length) return;
  const pool = await ctx.pools.read(poolKey(poolId), poolKey(poolId));
  if (!pool) return;
  let requeueFailure: unknown;
  for (const nodeId of silentNodeIds) await requeueTasksOfLostNode(ctx, pool.item, nodeId).catch((error: unknown) => (requeueFailure ??= error));
  deleteInBackground(ctx, pool.item, silentNodeIds, () => undefined);
  if (requeueFailure) throw requeueFailure;
}

/** Waits for the provider calls this process has in flight (tests and shutdown). */
export function settleResizes(): Promise<void> {
  return resizes.settle();
}
