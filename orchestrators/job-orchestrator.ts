// One orchestration per job owns the job's DAG: it dispatches each task as soon as its
// dependencies allow (up to maxParallelTasks), hears of every task's end, fails the dependents a
// blocked task can never let run (UpstreamTaskFailed), and ends the job. It is deterministic: all
// I/O happens in activities, time comes from the context, and the DAG logic is the pure code in
// shared/batch. History stays short because each generation hands over to a fresh one
// (continueAsNew) after a bounded number of events, rebuilding its state from the store.
import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import {
  addTasksToRun,
  onTaskEnded,
  startRun,
  TaskDag,
  type DagRun,
  type ReadinessChange,
  type UpstreamFailure,
} from '../shared/batch/index.js';
import { JOB_EVENT, type JobEvent, type JobOrchestrationInput } from '../shared/app/job-events.js';
import type { InflightCheck, JobSnapshot, SnapshotTask } from '../shared/app/job-runner.js';
import { ACTIVITIES } from './activity-names.js';
import { defect } from '../shared/app/defects.js';

const EVENTS_PER_GENERATION = 1000;
const DISPATCH_BATCH = 256;
/**
 * While tasks are in flight, the store is asked this often whether any ended without a notice
 * reaching us, or lost their queue message (either can die with a host; found by the simulator).
 */
const WATCHDOG_MS = 30_000;
const WATCHDOG_BATCH = 500;
/** Every activity touches the store or queues: each retries through transient failures (1 s, doubling, 6 tries). */
const STORE_RETRY = Object.assign(new df.RetryOptions(1000, 6), { backoffCoefficient: 2, maxRetryIntervalInMilliseconds: 30_000 });

type Status = SnapshotTask['status'];

interface JobRun {
  run: DagRun;
  status: Map<string, Status>;
  ready: string[];
  inflight: Set<string>;
  upstreamFailures: UpstreamFailure[];
}

export const jobOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput() as JobOrchestrationInput;
  const snapshot = (yield context.df.callActivityWithRetry(ACTIVITIES.loadSnapshot, STORE_RETRY, input.jobId)) as JobSnapshot | null;
  if (!snapshot) return { jobId: input.jobId, outcome: 'missing' };
  if (snapshot.state === 'completed') return { jobId: input.jobId, outcome: 'completed' };

  const job = buildRun(snapshot.tasks);
  let maxParallelTasks = snapshot.maxParallelTasks;
  let onAllTasksComplete = snapshot.onAllTasksComplete;
  let disabled = snapshot.state === 'disabled';
  let terminateReason: string | undefined = snapshot.state === 'terminating' ? snapshot.terminateReason ?? 'UserTerminate' : undefined;
  let events = 0;

  let nextEvent = context.df.waitForExternalEvent(JOB_EVENT);
  const deadline = snapshot.deadline ? context.df.createTimer(new Date(snapshot.deadline)) : undefined;
  /** Dispatches and upstream-failure writes in flight, with the tasks a dispatch carries. */
  const pending = new Map<Task, string[]>();
  let watchdog: Task | undefined;

  for (;;) {
    // The library resolves a Task.any only on completions that happen after it is built, so a
    // task that finished while another won the last round is collected here, not waited for.
    for (const [task, taskIds] of [...pending]) {
      if (!task.isCompleted && !task.isFaulted) continue;
      pending.delete(task);
      if (task.isFaulted) requeue(job, taskIds);
    }
    if (deadline?.isCompleted && !terminateReason) terminateReason = 'MaxWallClockTimeExpiry';
    if (watchdog?.isCompleted) {
      watchdog = undefined;
      const suspects = [...job.inflight].slice(0, WATCHDOG_BATCH);
      const check = (yield context.df.callActivityWithRetry(ACTIVITIES.watchdog, STORE_RETRY, { jobId: input.jobId, taskIds: suspects })) as InflightCheck;
      for (const t of check.ended) {
        if (t.status === 'ended' && job.inflight.has(t.id)) endTask(job, t.id, t.dependencyAction ?? 'block');
      }
    }
    // The bug benchmark's lost-notice defects model a notice lost with no recovery: no watchdog.
    const watchdogOff = defect('lost-wakeup') || defect('terminate-task-silent') || defect('dispatch-not-idempotent');
    if (!watchdog && job.inflight.size > 0 && !watchdogOff) {
      watchdog = context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + WATCHDOG_MS));
    }

    if (terminateReason) {
      yield context.df.callActivityWithRetry(ACTIVITIES.finishJob, STORE_RETRY, { jobId: input.jobId, reason: terminateReason });
      return { jobId: input.jobId, outcome: 'terminated', reason: terminateReason };
    }
    if (job.upstreamFailures.length) {
      const failures = job.upstreamFailures.splice(0);
      pending.set(context.df.callActivityWithRetry(ACTIVITIES.failUpstream, STORE_RETRY, { jobId: input.jobId, failures }), []);
    }
    if (!disabled) {
      const room = maxParallelTasks === -1 ? Number.POSITIVE_INFINITY : maxParallelTasks - job.inflight.size;
      const take = Math.min(room, DISPATCH_BATCH, job.ready.length);
      if (take > 0) {
        const taskIds = job.ready.splice(0, take);
        if (defect('nondeterministic-orchestrator') && !context.df.isReplaying) yield context.df.callActivity(ACTIVITIES.loadTasks, { jobId: input.jobId, taskIds: [] });
        for (const id of taskIds) {
          job.inflight.add(id);
          job.status.set(id, 'inflight');
        }
        pending.set(context.df.callActivityWithRetry(ACTIVITIES.dispatch, STORE_RETRY, { jobId: input.jobId, taskIds }), taskIds);
      }
    }
    if (job.run.finished && pending.size === 0 && job.inflight.size === 0 && onAllTasksComplete === 'terminatejob') {
      yield context.df.callActivityWithRetry(ACTIVITIES.finishJob, STORE_RETRY, { jobId: input.jobId, reason: 'AllTasksComplete' });
      return { jobId: input.jobId, outcome: 'completed' };
    }
    if (events >= EVENTS_PER_GENERATION && pending.size === 0) {
      context.df.continueAsNew({ jobId: input.jobId, generation: input.generation + 1 } satisfies JobOrchestrationInput);
      return undefined;
    }

    const waitOn: Task[] = [nextEvent, ...pending.keys()];
    if (deadline && !deadline.isCompleted) waitOn.push(deadline);
    if (watchdog) waitOn.push(watchdog);
    const winner: Task = yield context.df.Task.any(waitOn);

    if (winner === nextEvent) {
      events++;
      const event = nextEvent.result as JobEvent;
      nextEvent = context.df.waitForExternalEvent(JOB_EVENT);
      switch (event.type) {
        case 'taskEnded':
          if (job.status.has(event.taskId) && job.status.get(event.taskId) !== 'ended' && !(defect('lost-wakeup') && pending.size > 0)) {
            endTask(job, event.taskId, event.dependencyAction);
            if (event.jobAction === 'terminate') terminateReason = 'TaskFailed';
            else if (event.jobAction === 'disable' && !disabled) {
              disabled = true;
              yield context.df.callActivityWithRetry(ACTIVITIES.disableJob, STORE_RETRY, input.jobId);
            }
          }
          break;
        case 'tasksAdded': {
          const fresh = event.taskIds.filter((id) => !job.run.dag.has(id));
          if (fresh.length) {
            const added = (yield context.df.callActivityWithRetry(ACTIVITIES.loadTasks, STORE_RETRY, { jobId: input.jobId, taskIds: fresh })) as SnapshotTask[];
            for (const t of added) job.status.set(t.id, t.status);
            absorb(job, addTasksToRun(job.run, added.map((t) => ({ id: t.id, dependsOn: t.dependsOn }))));
          }
          break;
        }
        case 'terminate':
          terminateReason = event.reason || 'UserTerminate';
          break;
        case 'update':
          if (event.maxParallelTasks !== undefined) maxParallelTasks = event.maxParallelTasks;
          if (event.onAllTasksComplete !== undefined) onAllTasksComplete = event.onAllTasksComplete;
          break;
        case 'reload':
          if (pending.size === 0) {
            context.df.continueAsNew({ jobId: input.jobId, generation: input.generation + 1 } satisfies JobOrchestrationInput);
            return undefined;
          }
          events = EVENTS_PER_GENERATION; // hand over as soon as nothing is pending
          break;
      }
    } else if (deadline && winner === deadline) {
      terminateReason = 'MaxWallClockTimeExpiry';
    }
    // Otherwise a dispatch or an upstream-failure write finished: collected at the top of the loop.
    // Tasks a dispatch skipped were no longer waiting in the store; their end reaches us as an event.
  }
};

/**
 * A dispatch that failed for good: its tasks go back to the ready list. Dispatching again is
 * safe, since the activity skips tasks the store already shows as queued.
 */
function requeue(job: JobRun, taskIds: string[]): void {
  for (const id of taskIds) {
    if (job.status.get(id) !== 'inflight') continue;
    job.inflight.delete(id);
    job.status.set(id, 'waiting');
    job.ready.push(id);
  }
}

function endTask(job: JobRun, taskId: string, dependencyAction: 'satisfy' | 'block'): void {
  job.status.set(taskId, 'ended');
  job.inflight.delete(taskId);
  absorb(job, onTaskEnded(job.run, taskId, { dependencyAction }));
}

function buildRun(tasks: SnapshotTask[]): JobRun {
  const dag = TaskDag.of(tasks.map((t) => ({ id: t.id, dependsOn: t.dependsOn })));
  const status = new Map<string, Status>(tasks.map((t) => [t.id, t.status]));
  const job: JobRun = { run: undefined as unknown as DagRun, status, ready: [], inflight: new Set(), upstreamFailures: [] };
  const started = startRun(dag);
  job.run = started.run;
  absorb(job, started.change);
  for (const t of tasks) {
    if (t.status === 'ended') absorb(job, onTaskEnded(job.run, t.id, { dependencyAction: t.dependencyAction ?? 'block' }));
    else if (t.status === 'inflight') job.inflight.add(t.id);
  }
  return job;
}

/** Folds a readiness change in: ready tasks still waiting in the store get dispatched. */
function absorb(job: JobRun, change: ReadinessChange): void {
  for (const id of change.nowReady) if (job.status.get(id) === 'waiting') job.ready.push(id);
  if (defect('upstream-failure-dropped')) return;
  for (const failure of change.nowFailedUpstream) {
    const status = job.status.get(failure.taskId);
    if (status === 'ended') continue;
    job.status.set(failure.taskId, 'ended');
    job.inflight.delete(failure.taskId);
    job.upstreamFailures.push(failure);
  }
}
