// The I/O behind the job orchestration, run as activities: reading a job and its tasks from the
// store, marking tasks that can never run, the watchdog's check, and ending the job.
import {
  durationToMs,
  UNLIMITED_DURATION_MS,
  upstreamFailureInfo,
  type DependencyAction,
  type OnAllTasksComplete,
  type TaskDependencies,
  type UpstreamFailure,
} from '../batch/index.js';
import type { AppContext } from './context.js';
import { jobKey, taskKey, type JobDoc, type TaskDoc } from './documents.js';
import { defect } from './defects.js';
import { updateWithRetry } from './etag-retry.js';
import { jobMovedTo, taskEndedWithFailure } from './transitions.js';
import { priorityBand } from '../agent-protocol.js';
import { taskMessage } from './task-lifecycle.js';
import { requestKillsForJob } from './kill-requests.js';

export interface SnapshotTask {
  id: string;
  dependsOn?: TaskDependencies;
  /** waiting: not yet dispatched; inflight: queued or running; ended: completed. */
  status: 'waiting' | 'inflight' | 'ended';
  dependencyAction?: DependencyAction;
}

/** What the job orchestration needs of its job when a generation starts; the tasks stay in the store. */
export interface JobHeader {
  jobId: string;
  state: JobDoc['state'];
  terminateReason?: string;
  maxParallelTasks: number;
  onAllTasksComplete: OnAllTasksComplete;
  /** ISO time at which the job's maxWallClockTime expires, if it has one. */
  deadline?: string;
}

export async function loadJobHeader(ctx: AppContext, jobId: string): Promise<JobHeader | null> {
  const key = jobKey(jobId);
  const job = await ctx.jobs.read(key, key);
  if (!job) return null;
  const limit = durationToMs(job.item.constraints.maxWallClockTime);
  return {
    jobId: job.item.jobId,
    state: job.item.state,
    terminateReason: job.item.executionInfo.terminateReason,
    maxParallelTasks: job.item.maxParallelTasks,
    onAllTasksComplete: job.item.onAllTasksComplete,
    deadline: limit < UNLIMITED_DURATION_MS ? new Date(Date.parse(job.item.creationTime) + limit).toISOString() : undefined,
  };
}

export async function loadTasks(ctx: AppContext, key: string, only?: ReadonlySet<string>): Promise<SnapshotTask[]> {
  const tasks: SnapshotTask[] = [];
  let continuation: string | undefined;
  do {
    const page = await ctx.tasks.query(key, { limit: 2000, continuation });
    for (const { item } of page.items) {
      if (only && !only.has(item.id)) continue;
      tasks.push(snapshotOf(item));
    }
    continuation = page.continuation;
  } while (continuation);
  tasks.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return tasks;
}

/** Where a task stands for the job's DAG, and how its end counts for its dependents. */
export function snapshotOf(task: TaskDoc): SnapshotTask {
  const status = task.scheduling === 'ended' || task.state === 'completed' ? 'ended' : task.scheduling === 'waiting' ? 'waiting' : 'inflight';
  return {
    id: task.taskId,
    dependsOn: task.dependsOn,
    status,
    ...(status === 'ended' ? { dependencyAction: task.dependencyAction ?? (task.executionInfo.result === 'success' ? 'satisfy' : 'block') } : {}),
  };
}

/** Completes tasks that can never run because a task they depend on blocked them. */
export async function failUpstream(ctx: AppContext, jobId: string, failures: UpstreamFailure[]): Promise<void> {
  const key = jobKey(jobId);
  const at = new Date(ctx.now()).toISOString();
  await Promise.all(
    failures.map((failure) =>
      updateWithRetry(ctx.tasks, taskKey(failure.taskId), key, ({ item }) => {
        if (item.state === 'completed') return undefined;
        return taskEndedWithFailure(item, at, upstreamFailureInfo(failure), 'block');
      }),
    ),
  );
}

/** Ends a job: tasks not yet completed are completed (running ones are killed), then the job. */
export async function finishJob(ctx: AppContext, jobId: string, terminateReason: string): Promise<void> {
  const key = jobKey(jobId);
  const at = new Date(ctx.now()).toISOString();
  await requestKillsForJob(ctx, key);
  if (defect('finish-job-first')) await setJobState(ctx, jobId, 'completed', terminateReason);
  let continuation: string | undefined;
  do {
    const page = await ctx.tasks.query(key, { limit: 500, continuation });
    await Promise.all(
      page.items
        .filter(({ item }) => item.state !== 'completed' && !(defect('finish-skips-queued') && item.scheduling === 'queued'))
        .map(({ item }) =>
          updateWithRetry(ctx.tasks, item.id, key, ({ item: t }) => {
            if (t.state === 'completed') return undefined;
            return taskEndedWithFailure(
              t,
              at,
              { category: 'usererror', code: 'JobTerminated', message: `The job ended (${terminateReason}) before this task completed.` },
              'block',
            );
          }),
        ),
    );
    continuation = page.continuation;
  } while (continuation);
  await setJobState(ctx, jobId, 'completed', terminateReason);
}

export async function setJobState(ctx: AppContext, jobId: string, state: 'completed' | 'disabled', terminateReason?: string): Promise<void> {
  const key = jobKey(jobId);
  const at = new Date(ctx.now()).toISOString();
  await updateWithRetry(ctx.jobs, key, key, ({ item }) => {
    if (item.state === state || item.state === 'completed') return undefined;
    return {
      ...jobMovedTo(item, state, at),
      executionInfo:
        state === 'completed'
          ? { ...item.executionInfo, endTime: at, terminateReason: item.executionInfo.terminateReason ?? terminateReason }
          : item.executionInfo,
    };
  });
}

/** A task queued this long ago and still not claimed is checked for a lost message. */
export const LOST_MESSAGE_AFTER_MS = 30_000;
/**
 * Storage queues hand messages out about in the order they were sent, not exactly: a message at
 * the queue's front sent this much later than a waiting task's shows that the task's message is
 * no longer in the queue (the margin also covers clocks of the host and the queue service apart).
 */
export const OVERTAKEN_BY_MS = 10_000;

export interface InflightCheck {
  /** Tasks the orchestration thinks in flight that the store shows ended (their notice was lost). */
  ended: SnapshotTask[];
  /** Tasks whose queue message was lost (a host died between marking them queued and sending). */
  resent: string[];
}

/**
 * The job orchestration's watchdog: finds ends it never heard of, and re-sends the current
 * dispatch of tasks left queued whose message is no longer in the queue. The queue cannot be
 * searched, but its front can be seen: a task queued long ago lost its message when the front
 * holds nothing visible, or only messages sent well after it. So a lost message is found even
 * while the pool's queue stays busy with later work. A re-sent message is harmless even if the
 * original survives (say, held by a node that died, until its lease runs out): only one claim of
 * a dispatch can succeed.
 */
export async function checkInflight(ctx: AppContext, jobId: string, taskIds: string[]): Promise<InflightCheck> {
  const key = jobKey(jobId);
  const job = await ctx.jobs.read(key, key);
  if (!job) return { ended: [], resent: [] };
  const now = ctx.now();
  const docs = (await Promise.all(taskIds.map((id) => ctx.tasks.read(taskKey(id), key)))).filter((t) => t !== undefined);
  const ended = docs.filter((t) => t.item.state === 'completed').map((t) => snapshotOf(t.item));
  const stale = docs.filter(
    (t) => t.item.scheduling === 'queued' && t.item.dispatchId && now - (t.item.queuedAt ?? 0) > LOST_MESSAGE_AFTER_MS,
  );
  const resent: string[] = [];
  if (stale.length && job.item.state === 'active') {
    const queue = await ctx.queue(job.item.poolInfo.poolId, priorityBand(job.item.priority));
    const [front] = await queue.peek(1);
    const frontSentAt = front?.insertedOn.getTime();
    const at = new Date(now).toISOString();
    for (const { item } of stale) {
      if (frontSentAt !== undefined && frontSentAt - (item.queuedAt ?? 0) < OVERTAKEN_BY_MS) continue;
      // The next check measures from this send, so a re-sent message waiting behind a long queue
      // is not sent yet again.
      const marked = await updateWithRetry(ctx.tasks, item.id, key, ({ item: current }) =>
        current.scheduling === 'queued' && current.dispatchId === item.dispatchId ? { ...current, queuedAt: now } : undefined,
      );
      if (!marked?.after) continue;
      await queue.send(JSON.stringify(taskMessage(job.item, marked.after.item, item.dispatchId!, at)));
      resent.push(item.taskId);
    }
  }
  return { ended, resent };
}
