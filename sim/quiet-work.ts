// Periodic work that provably changes nothing worth interleaving. About half of all steps were
// heartbeats and pool-maintenance passes that found nothing to do; each is a real request, but
// as a scheduling choice it only dilutes the search and costs time. Like Coyote's and Temporal's
// time skipping, the simulator therefore runs a quiet heartbeat atomically (still the real
// service, still a real write of lastHeartbeatAt, but no interleaving and no choice), and skips a
// maintenance pass or an autoscale tick outright when the state it would read shows it has
// nothing to do (the autoscale timer's clock jumps straight to its next due time). Anything
// that is not provably quiet stays an ordinary step with all its scheduling points.
//
// The predicates below restate what node-service.heartbeat, markSilentNodes, reconcilePool and
// autoScaleTick decide; when those change, these must follow. test/sim/quiet-work.test.ts checks
// them against the real services: every pass they call quiet is run anyway there, and must write
// nothing (a quiet heartbeat: nothing but its time).
import type { HeartbeatRequest } from '../shared/agent-protocol.js';
import { SAMPLE_PERIOD_MS } from '../shared/autoscale/index.js';
import { AUTOSCALE_DEBOUNCE_MS } from '../shared/app/autoscale-service.js';
import type { NodeDoc, PoolDoc } from '../shared/app/documents.js';
import { nodeKey } from '../shared/app/documents.js';
import { NODE_OFFLINE_AFTER_MS } from '../shared/app/node-health.js';
import { LOST_NODE_RETENTION_MS } from '../shared/app/pool-service.js';
import type { SimVm } from './models/sim-scale-sets.js';

/**
 * A heartbeat is quiet when its answer asks nothing of the agent and the only change it makes to
 * the node's document is the time of the heartbeat: the document already says what the agent
 * reports (state, running tasks, boot, slots, metrics) and holds no orders for it.
 */
export function heartbeatIsQuiet(request: HeartbeatRequest, node: NodeDoc | undefined, pool: PoolDoc | undefined): boolean {
  if (!pool || pool.state === 'deleting' || !node) return false;
  if (node.state !== request.state || node.drain || node.shutdown || node.killRequests.length > 0) return false;
  if (node.isDedicated !== request.isDedicated || node.taskSlots !== request.taskSlots || node.lastBootTime !== request.bootTime) return false;
  if (node.metrics?.cpuPercent !== request.metrics.cpuPercent || node.metrics?.memoryBytes !== request.metrics.memoryBytes) return false;
  if (node.runningTasks.length !== request.runningTasks.length) return false;
  return node.runningTasks.every((t, i) => {
    const r = request.runningTasks[i]!;
    return t.jobId === r.jobId && t.taskId === r.taskId && t.dispatchId === r.dispatchId && t.slots === r.slots;
  });
}

export interface PoolView {
  pool: PoolDoc;
  nodes: NodeDoc[];
  vms: SimVm[];
}

/**
 * A maintenance pass over a pool is quiet when it would mark no node offline or unusable, find
 * no instance to add, replace, remove or forget, and leave the pool document as it is: every
 * instance is running with a fresh heartbeat, lost nodes' documents are still within their
 * retention, the counts match the targets and the pool already says so, and no provider call is
 * in flight or waiting to be reported (`providerIdle`).
 */
export function maintenanceIsQuiet({ pool, nodes, vms }: PoolView, now: number, providerIdle: boolean): boolean {
  if (pool.state === 'deleting' || !providerIdle) return false;
  const docs = new Map(nodes.map((n) => [n.id, n]));
  let dedicated = 0;
  let lowPriority = 0;
  for (const vm of vms) {
    const doc = docs.get(nodeKey(vm.nodeId));
    if (!doc) return false;
    if (vm.state === 'evicted') {
      // Its document says preempted until the instance is forgotten, after the retention.
      if (doc.state !== 'preempted' || now - Date.parse(doc.stateTransitionTime) > LOST_NODE_RETENTION_MS) return false;
      docs.delete(doc.id);
      continue;
    }
    if (vm.state !== 'running') return false;
    if (doc.state !== 'idle' && doc.state !== 'running') return false;
    if (doc.lastHeartbeatAt === undefined || now - doc.lastHeartbeatAt > NODE_OFFLINE_AFTER_MS) return false;
    if (vm.priority === 'dedicated') dedicated++;
    else lowPriority++;
    docs.delete(doc.id);
  }
  for (const lost of docs.values()) {
    if (lost.state !== 'preempted' && lost.state !== 'unusable') return false;
    if (now - Date.parse(lost.stateTransitionTime) > LOST_NODE_RETENTION_MS) return false;
  }
  return (
    dedicated === pool.targetDedicatedNodes &&
    lowPriority === pool.targetLowPriorityNodes &&
    dedicated === pool.currentDedicatedNodes &&
    lowPriority === pool.currentLowPriorityNodes &&
    pool.allocationState === 'steady' &&
    Array.isArray(pool.resizeErrors) &&
    pool.resizeErrors.length === 0
  );
}

/**
 * When the autoscale timer next has something to do for this pool (evaluate on its interval, an
 * early request whose debounce has passed, or a metric sample for a new sample period), as
 * autoScaleTick decides it; undefined if never (not autoscaled). Before then a tick only reads.
 */
export function autoScaleDueAt(pool: PoolDoc): number | undefined {
  if (!pool.enableAutoScale || pool.state === 'deleting') return undefined;
  const state = pool.autoScaleState;
  if (!state) return Number.NEGATIVE_INFINITY;
  let at = state.nextRunAt;
  if (state.requestedAt !== undefined) at = Math.min(at, (state.lastRunAt ?? Number.NEGATIVE_INFINITY) + AUTOSCALE_DEBOUNCE_MS);
  const sampleAt = state.lastSampledAt === undefined ? Number.NEGATIVE_INFINITY : (Math.floor(state.lastSampledAt / SAMPLE_PERIOD_MS) + 1) * SAMPLE_PERIOD_MS;
  return Math.min(at, sampleAt);
}
