// A task's life after it is ready: dispatched to its pool's queue, claimed by one agent, ended by
// one report. Every change is one write guarded by the task's ETag, and every claim and report
// names the dispatch it belongs to, so a duplicate, late or reordered message can never move a
// task backwards or complete it twice.
import {
  durationToMs,
  effectiveJobAction,
  resolveExitOptions,
  taskResultOf,
  UNLIMITED_DURATION_MS,
  type DependencyAction,
  type JobAction,
  type TaskEnding,
  type TaskFailureInfo,
  type TaskResult,
} from '../batch/index.js';
import {
  PROTOCOL_VERSION,
  priorityBand,
  type ClaimRequest,
  type ClaimResponse,
  type CompleteRequest,
  type NameValue,
  type ReleaseRequest,
  type TaskMessage,
} from '../agent-protocol.js';
import type { Stored } from '../ports/document-store.js';
import type { WorkQueue } from '../ports/work-queue.js';
import type { AppContext } from './context.js';
import { jobKey, nodeKey, poolKey, taskKey, type JobDoc, type TaskDoc } from './documents.js';
import { updateWithRetry } from './etag-retry.js';
import { taskMovedTo } from './transitions.js';
import { isSilent } from './node-health.js';
import type { TaskEnd } from './job-events.js';
import { newRandomId } from './id-source.js';
import { defect } from './defects.js';
import { requestAutoScaleSoon } from './autoscale-service.js';
import { forEachInOrder } from '../in-order.js';

export { NODE_DEAD_AFTER_MS } from './node-health.js';

const NOT_CLAIMING: ReadonlySet<string> = new Set(['leavingpool', 'preempted', 'unusable']);

// ---- dispatch ---------------------------------------------------------------------------------

/**
 * Messages of one dispatch in flight at once. They are sent in the order given (the job's
 * dispatch order, longest chain first), so the queue holds them in about that order, and the first
 * of a large dispatch is on the queue after one send rather than after all of them.
 */
const DISPATCH_CONCURRENCY = 16;

/**
 * Puts ready tasks on their pool's queue, in the order given. The task document is marked queued
 * with a fresh dispatch id before the message is sent; a duplicate message for the same dispatch
 * is harmless because only one claim of a dispatch can succeed.
 */
export async function dispatchTasks(ctx: AppContext, jobId: string, taskIds: string[]): Promise<{ dispatched: string[]; skipped: string[] }> {
  const key = jobKey(jobId);
  const job = await ctx.jobs.read(key, key);
  if (!job) return { dispatched: [], skipped: taskIds };
  const band = priorityBand(job.item.priority);
  const queue = await ctx.queue(job.item.poolInfo.poolId, band);
  const dispatched: string[] = [];
  const skipped: string[] = [];
  const at = new Date(ctx.now()).toISOString();
  await forEachInOrder(taskIds, DISPATCH_CONCURRENCY, async (taskId) => {
    let message: TaskMessage | undefined;
    const marked = await updateWithRetry(ctx.tasks, taskKey(taskId), key, ({ item }) => {
      if (!defect('dispatch-not-idempotent') && item.state === 'active' && item.scheduling === 'queued' && item.dispatchId && job.item.state === 'active') {
        // This dispatch ran before and died between marking the task queued and sending its
        // message (found by the simulator): send it again. A duplicate is harmless, since only
        // one claim of a dispatch succeeds.
        message = taskMessage(job.item, item, item.dispatchId, at);
        return undefined;
      }
      if (item.state !== 'active' || item.scheduling !== 'waiting' || job.item.state !== 'active') {
        message = undefined;
        return undefined;
      }
      const dispatchId = newDispatchId(item);
      message = taskMessage(job.item, item, dispatchId, at);
      return { ...item, scheduling: 'queued' as const, dispatchId, band, queuedAt: ctx.now() };
    });
    if (!message) {
      skipped.push(taskId);
      return;
    }
    await sendOrPutBack(ctx, queue, message, marked?.after ? marked.before.item : undefined);
    dispatched.push(taskId);
  });
  if (dispatched.length) requestAutoScaleSoon(ctx, job.item.poolInfo.poolId);
  return { dispatched, skipped };
}

/**
 * Sends a task's message. When the send fails (the queue failing past its client's retries), the
 * task document this call just moved to the message's dispatch goes back to what it was before,
 * and the error is raised: the caller's retry then does both again at once. The advance activity's
 * retry rebuilds the job's DAG from the store and finds the task waiting; a node repeats an end
 * report that failed. Left queued, the task would wait for the job's watchdog, which sends a lost
 * message again only once the whole queue is empty. A lost node's task goes back to the lost node,
 * whose old message comes back when its lease runs out. Had the send reached the queue after all,
 * that message names a dispatch no longer current, and its claim is refused.
 */
export async function sendOrPutBack(ctx: AppContext, queue: WorkQueue, message: TaskMessage, previous: TaskDoc | undefined): Promise<void> {
  try {
    await queue.send(JSON.stringify(message));
  } catch (error) {
    if (previous) {
      const key = jobKey(message.jobId);
      await updateWithRetry(ctx.tasks, taskKey(message.taskId), key, ({ item }) =>
        item.scheduling === 'queued' && item.dispatchId === message.dispatchId ? previous : undefined,
      ).catch(() => undefined);
    }
    throw error;
  }
}

export function newDispatchId(task: TaskDoc): string {
  return `${task.executionInfo.retryCount}.${task.executionInfo.requeueCount}.${newRandomId().slice(0, 8)}`;
}

export function taskMessage(job: JobDoc, task: TaskDoc, dispatchId: string, at: string): TaskMessage {
  const environment: NameValue[] = [
    ...job.commonEnvironmentSettings.map((e) => ({ name: e.name, value: e.value ?? '' })),
    ...task.environmentSettings.map((e) => ({ name: e.name, value: e.value ?? '' })),
  ];
  const wallClock = durationToMs(task.constraints.maxWallClockTime);
  return {
    v: PROTOCOL_VERSION,
    jobId: job.jobId,
    taskId: task.taskId,
    dispatchId,
    retryCount: task.executionInfo.retryCount,
    commandLine: task.commandLine,
    environment,
    ...(wallClock < UNLIMITED_DURATION_MS ? { maxWallClockMs: wallClock } : {}),
    requiredSlots: task.requiredSlots,
    enqueuedAt: at,
  };
}

// ---- claim ------------------------------------------------------------------------------------

export async function claimTask(ctx: AppContext, req: ClaimRequest): Promise<ClaimResponse> {
  const key = jobKey(req.jobId);
  const job = await ctx.jobs.read(key, key);
  if (!job) return { granted: false, reason: 'UnknownTask' };
  if (job.item.state !== 'active') return { granted: false, reason: 'JobNotActive' };
  // A node on its way out (scale-down) or written off (lost) takes no new work: its tasks could
  // otherwise be claimed after the reconciler decided it held none.
  const claimer = await ctx.nodes.read(nodeKey(req.nodeId), poolKey(req.poolId));
  if (claimer && NOT_CLAIMING.has(claimer.item.state)) return { granted: false, reason: 'NodeNotUsable' };
  const now = ctx.now();
  const at = new Date(now).toISOString();
  let response: ClaimResponse = { granted: false, reason: 'UnknownTask' };
  const holderIsDead = async (task: TaskDoc) => {
    if (defect('dead-node-tasks-stuck')) return false;
    if (!task.nodeInfo) return true;
    const node = await ctx.nodes.read(nodeKey(task.nodeInfo.nodeId), poolKey(task.nodeInfo.poolId));
    if (!node) return true;
    // The node restarted since it claimed the task: that incarnation, and the task with it, is gone.
    const bootedAfterClaim = !!node.item.lastBootTime && !!task.executionInfo.startTime && Date.parse(node.item.lastBootTime) > Date.parse(task.executionInfo.startTime);
    if (bootedAfterClaim) return true;
    const state = node.item.state;
    return state === 'unusable' || state === 'offline' || state === 'preempted' || isSilent(ctx, node.item.lastHeartbeatAt ?? 0);
  };
  // Whether the current holder is dead is read before the guarded write, and the write is
  // retried on conflict, so the decision always applies to the version it was made on.
  for (let attempt = 0; attempt < 8; attempt++) {
    const current = await ctx.tasks.read(taskKey(req.taskId), key);
    if (!current) return { granted: false, reason: 'UnknownTask' };
    const task = current.item;
    if (task.dispatchId !== req.dispatchId && !defect('claim-ignores-dispatch')) return { granted: false, reason: 'StaleDispatch' };
    let requeue = false;
    if (task.scheduling === 'claimed') {
      const sameNode = !!task.nodeInfo && nodeKey(task.nodeInfo.nodeId) === nodeKey(req.nodeId);
      // The same node id asking again after a restart: its earlier incarnation's work is gone.
      const rebooted = sameNode && !!req.bootTime && !!task.executionInfo.startTime && Date.parse(req.bootTime) > Date.parse(task.executionInfo.startTime);
      // The same agent asking again for the same dispatch: its first answer was lost (it timed out
      // waiting), so it is not running the task. Grant again; nothing changes.
      if (sameNode && !rebooted) {
        return { granted: true, retryCount: task.executionInfo.retryCount, requeueCount: task.executionInfo.requeueCount };
      }
      if (!rebooted && !(await holderIsDead(task))) return { granted: false, reason: 'TaskNotActive' };
      requeue = true; // its message came back because the node holding it died
    } else if (task.scheduling !== 'queued' || task.state !== 'active') {
      return { granted: false, reason: 'TaskNotActive' };
    }
    const info = { ...task.executionInfo };
    if (requeue) {
      info.requeueCount += 1;
      info.lastRequeueTime = at;
    }
    const next: TaskDoc = {
      ...taskMovedTo(task, 'running', at),
      scheduling: 'claimed',
      nodeInfo: { poolId: req.poolId, nodeId: req.nodeId },
      executionInfo: { ...info, startTime: at, endTime: undefined, exitCode: undefined, result: undefined, failureInfo: undefined },
    };
    try {
      await ctx.tasks.replace(next, { ifMatch: current.etag });
      response = { granted: true, retryCount: info.retryCount, requeueCount: info.requeueCount };
      break;
    } catch (err) {
      if (attempt === 7) throw err;
    }
  }
  return response;
}

// ---- complete ---------------------------------------------------------------------------------

export interface CompletionOutcome {
  accepted: boolean;
  /** Present when the task reached its end (not retried): the orchestration must hear of it. */
  ended?: TaskEnd;
}

export async function completeTask(ctx: AppContext, req: CompleteRequest): Promise<CompletionOutcome> {
  const key = jobKey(req.jobId);
  const job = await ctx.jobs.read(key, key);
  if (!job) return { accepted: false };
  const at = new Date(ctx.now()).toISOString();
  let retryMessage: TaskMessage | undefined;
  let ended: TaskEnd | undefined;
  let duplicateOfEnd: TaskEnd | undefined;
  const queue = await ctx.queue(job.item.poolInfo.poolId, priorityBand(job.item.priority));
  const result = await updateWithRetry(ctx.tasks, taskKey(req.taskId), key, ({ item: task }) => {
    retryMessage = undefined;
    ended = undefined;
    duplicateOfEnd = undefined;
    if (task.dispatchId !== req.dispatchId) return undefined;
    if (task.scheduling === 'ended' && !defect('completion-counted-twice')) {
      // A repeated report of the end: tell the orchestration again (it ignores repeats), in case
      // the first notice was lost with a crash.
      if (task.executionInfo.result && task.dependencyAction) {
        duplicateOfEnd = taskEnd(task, task.executionInfo.result, task.dependencyAction, 'none');
      }
      return undefined;
    }
    if (task.scheduling !== 'claimed' && !(task.scheduling === 'ended' && defect('completion-counted-twice'))) return undefined;
    const ending = endingOf(req);
    const taskResult = taskResultOf(ending);
    const failureInfo = failureOf(req, taskResult);
    const maxRetries = task.constraints.maxTaskRetryCount;
    const retriesLeft = maxRetries === -1 || task.executionInfo.retryCount < maxRetries;
    if (taskResult === 'failure' && retriesLeft && req.killedBy !== 'terminate' && job.item.state === 'active') {
      const dispatchId = newDispatchId({ ...task, executionInfo: { ...task.executionInfo, retryCount: task.executionInfo.retryCount + 1 } });
      const next: TaskDoc = {
        ...taskMovedTo(task, 'active', at),
        scheduling: 'queued',
        queuedAt: ctx.now(),
        dispatchId,
        executionInfo: {
          ...task.executionInfo,
          retryCount: task.executionInfo.retryCount + 1,
          lastRetryTime: at,
          exitCode: req.exitCode ?? undefined,
          failureInfo,
          endTime: req.endTime,
        },
      };
      retryMessage = taskMessage(job.item, next, dispatchId, at);
      if (defect('retry-signals-ended')) ended = taskEnd(task, 'failure', 'satisfy', 'none');
      return next;
    }
    const exit = resolveExitOptions(task.exitConditions, ending);
    const jobAction = taskResult === 'failure' ? effectiveJobAction(job.item.onTaskFailure, exit) : 'none';
    ended = taskEnd(task, taskResult, exit.dependencyAction, jobAction);
    const completed: TaskDoc = {
      ...taskMovedTo(task, 'completed', at),
      scheduling: 'ended',
      dependencyAction: exit.dependencyAction,
      executionInfo: {
        ...task.executionInfo,
        // When the process started, on the clock of the node that also timed its end. The claim
        // may have come earlier: a node claims its next task ahead, while its slots are busy.
        startTime: req.startTime || task.executionInfo.startTime,
        endTime: req.endTime,
        exitCode: req.exitCode ?? undefined,
        result: taskResult,
        failureInfo,
      },
    };
    return completed;
  });
  if (!result) return { accepted: false };
  if (!result.after) return { accepted: false, ended: duplicateOfEnd };
  if (retryMessage) await sendOrPutBack(ctx, queue, retryMessage, result.before.item);
  return { accepted: true, ended };
}

function taskEnd(task: TaskDoc, result: TaskResult, dependencyAction: DependencyAction, jobAction: JobAction): TaskEnd {
  return { taskId: task.taskId, result, dependencyAction, jobAction };
}

function endingOf(req: CompleteRequest): TaskEnding {
  if (req.killedBy === 'maxWallClockTime') return { kind: 'timedOut' };
  if (req.exitCode === null || req.exitCode === undefined) return { kind: 'preProcessingError' };
  return { kind: 'exited', exitCode: req.exitCode };
}

function failureOf(req: CompleteRequest, result: TaskResult): TaskFailureInfo | undefined {
  if (req.failure) return { category: req.failure.category, code: req.failure.code, message: req.failure.message };
  if (req.killedBy === 'maxWallClockTime') {
    return { category: 'usererror', code: 'MaxWallClockTimeExpiry', message: 'The task ran longer than its maxWallClockTime and was killed.' };
  }
  if (req.killedBy === 'terminate') return { category: 'usererror', code: 'TaskEnded', message: 'The task was terminated.' };
  if (result === 'failure') {
    return { category: 'usererror', code: 'FailureExitCode', message: `The task exited with code ${req.exitCode}.` };
  }
  return undefined;
}


// ---- release ----------------------------------------------------------------------------------

/** An agent gives back a task it claimed (shutting down): active again, requeueCount + 1. */
export async function releaseTask(ctx: AppContext, req: ReleaseRequest): Promise<boolean> {
  const key = jobKey(req.jobId);
  const at = new Date(ctx.now()).toISOString();
  const result = await updateWithRetry(ctx.tasks, taskKey(req.taskId), key, ({ item: task }) => {
    if (task.dispatchId !== req.dispatchId || task.scheduling !== 'claimed') return undefined;
    if (!task.nodeInfo || nodeKey(task.nodeInfo.nodeId) !== nodeKey(req.nodeId)) return undefined;
    return req.unstarted === true ? unclaimed(task, at) : requeued(task, at);
  });
  return !!result?.after;
}

export function requeued(task: TaskDoc, at: string): TaskDoc {
  return backInQueue(task, at, { ...task.executionInfo, requeueCount: task.executionInfo.requeueCount + 1, lastRequeueTime: at });
}

/** Claimed ahead and never started: back in the queue as it was before the claim. */
function unclaimed(task: TaskDoc, at: string): TaskDoc {
  return backInQueue(task, at, { ...task.executionInfo, startTime: undefined });
}

function backInQueue(task: TaskDoc, at: string, executionInfo: TaskDoc['executionInfo']): TaskDoc {
  return { ...taskMovedTo(task, 'active', at), scheduling: 'queued', queuedAt: Date.parse(at), executionInfo };
}

export type { Stored };
