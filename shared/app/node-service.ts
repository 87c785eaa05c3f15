// Compute nodes as the control plane sees them: what their heartbeats say, what they are asked to
// do in return (kill tasks, drain, leave), and which of them have gone quiet.
import type { HeartbeatRequest, HeartbeatResponse, StartTaskReport, WorkReturnedReport, WorkSignalRequest, WorkSignalResponse } from '../agent-protocol.js';
import { BatchError, BatchErrorCodes } from '../batch/index.js';
import { isStoreError } from '../ports/errors.js';
import type { AppContext } from './context.js';
import { nodeKey, poolKey, type NodeDoc, type NodeState } from './documents.js';
import { updateWithRetry } from './etag-retry.js';
import { isSilent, NODE_OFFLINE_AFTER_MS, startWatching } from './node-health.js';
import { placementAdvice } from './placement-advice.js';

export { resetNodeWatch } from './node-health.js';

export const HEARTBEAT_INTERVAL_MS = 500;

export async function heartbeat(ctx: AppContext, req: HeartbeatRequest): Promise<HeartbeatResponse> {
  const pool = await ctx.pools.read(poolKey(req.poolId), poolKey(req.poolId));
  if (!pool || pool.item.state === 'deleting') {
    return { kill: [], drain: true, shutdown: true, nextHeartbeatMs: HEARTBEAT_INTERVAL_MS };
  }
  const now = ctx.now();
  const at = new Date(now).toISOString();
  const running = new Set(req.runningTasks.map((t) => t.dispatchId));
  const killable = new Set([...running, ...(req.claimedAhead ?? []).map((t) => t.dispatchId)]);
  let answer: HeartbeatResponse = { kill: [], drain: false, shutdown: false, nextHeartbeatMs: HEARTBEAT_INTERVAL_MS };
  const apply = (node: NodeDoc): NodeDoc => {
    const kill = node.killRequests.filter((k) => killable.has(k.dispatchId));
    // Tasks that left the running list since the last heartbeat have just ended on this node;
    // keeping the list here spares every task completion a write to the node's document.
    const ended = node.runningTasks.filter((t) => !running.has(t.dispatchId)).map((t) => ({ ...t, endTime: at }));
    answer = { kill, drain: node.drain, shutdown: node.shutdown, nextHeartbeatMs: HEARTBEAT_INTERVAL_MS };
    const state = nextState(node.state, req.state);
    return {
      ...node,
      isDedicated: req.isDedicated,
      taskSlots: req.taskSlots,
      state,
      stateTransitionTime: state === node.state ? node.stateTransitionTime : at,
      lastBootTime: req.bootTime,
      lastHeartbeatAt: now,
      runningTasks: req.runningTasks.map((t) => ({ jobId: t.jobId, taskId: t.taskId, dispatchId: t.dispatchId, slots: t.slots })),
      killRequests: kill,
      recentTasks: [...ended.reverse(), ...node.recentTasks].slice(0, 10),
      metrics: { cpuPercent: req.metrics.cpuPercent, memoryBytes: req.metrics.memoryBytes },
    };
  };
  let written = (await updateWithRetry(ctx.nodes, nodeKey(req.nodeId), poolKey(req.poolId), ({ item }) => apply(item)))?.after;
  if (!written) {
    try {
      written = await ctx.nodes.create(apply(newNodeDoc(req.poolId, req.nodeId, req.isDedicated, req.taskSlots, at)));
    } catch (err) {
      if (!isStoreError(err, 'Conflict')) throw err;
      written = (await updateWithRetry(ctx.nodes, nodeKey(req.nodeId), poolKey(req.poolId), ({ item }) => apply(item)))?.after;
    }
  }
  if (written) answer = { ...answer, ...(await placementAdvice(ctx, written.item, pool.item.taskSchedulingPolicy?.nodeFillType ?? 'spread')) };
  if (ctx.workSignal.offered) answer = { ...answer, workSignal: true };
  return answer;
}

/** The agent reports its own state; the control plane's decisions (leaving, preempted) win. */
function nextState(current: NodeState, reported: HeartbeatRequest['state']): NodeState {
  if (current === 'leavingpool' || current === 'preempted') return current;
  return reported;
}

export function newNodeDoc(poolId: string, nodeId: string, isDedicated: boolean, taskSlots: number, at: string): NodeDoc {
  return {
    id: nodeKey(nodeId),
    poolId: poolKey(poolId),
    nodeId,
    isDedicated,
    state: 'creating',
    stateTransitionTime: at,
    taskSlots,
    runningTasks: [],
    recentTasks: [],
    killRequests: [],
    drain: false,
    shutdown: false,
  };
}

/**
 * AGENT_ROUTES.workSignal: the count of sends to the pool once it differs from `after`, or after
 * `waitMs` unchanged. Refused where the heartbeat does not offer it: the count would miss the
 * sends of other processes, and a node relying on it would wait for work already queued.
 */
export async function awaitPoolWork(ctx: AppContext, req: WorkSignalRequest): Promise<WorkSignalResponse> {
  requireWorkSignal(ctx);
  return { count: await ctx.workSignal.wait(poolKey(req.poolId), req.after, req.waitMs) };
}

/**
 * AGENT_ROUTES.workReturned: messages a node gave back are on the pool's queues again, so the
 * peers waiting on the signal hear of them as of a send, not at their next poll.
 */
export function noteWorkReturned(ctx: AppContext, report: WorkReturnedReport): void {
  requireWorkSignal(ctx);
  ctx.workSignal.notify(poolKey(report.poolId));
}

function requireWorkSignal(ctx: AppContext): void {
  if (!ctx.workSignal.offered) throw new BatchError(409, BatchErrorCodes.OperationInvalidForCurrentState, 'This control plane does not offer the work signal; poll the pool\'s queues.');
}

export async function reportStartTask(ctx: AppContext, report: StartTaskReport): Promise<void> {
  const at = new Date(ctx.now()).toISOString();
  await updateWithRetry(ctx.nodes, nodeKey(report.nodeId), poolKey(report.poolId), ({ item }) => ({
    ...item,
    state: (report.succeeded ? 'idle' : 'starttaskfailed') as NodeState,
    stateTransitionTime: at,
  }));
}

/**
 * Nodes whose heartbeats stopped show as offline after a few missed beats, then become unusable
 * at the deadline, and their tasks come back through the queue. Returns the newly unusable ones.
 */
export async function markSilentNodes(ctx: AppContext, poolId: string): Promise<string[]> {
  const now = ctx.now();
  const at = new Date(now).toISOString();
  const marked: string[] = [];
  startWatching(ctx);
  const page = await ctx.nodes.query(poolKey(poolId));
  for (const { item } of page.items) {
    if (item.state === 'unusable' || item.state === 'preempted' || item.state === 'leavingpool') continue;
    if (isSilent(ctx, item.lastHeartbeatAt)) {
      await updateWithRetry(ctx.nodes, item.id, item.poolId, ({ item: n }) => ({ ...n, state: 'unusable' as const, stateTransitionTime: at }));
      marked.push(item.nodeId);
    } else if (item.state !== 'offline' && isSilent(ctx, item.lastHeartbeatAt, NODE_OFFLINE_AFTER_MS)) {
      await updateWithRetry(ctx.nodes, item.id, item.poolId, ({ item: n }) => ({ ...n, state: 'offline' as const, stateTransitionTime: at }));
    }
  }
  return marked;
}
