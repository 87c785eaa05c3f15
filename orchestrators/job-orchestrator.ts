// One orchestration per job drives the job's DAG: it hears every task's end and every added task,
// hands them in batches to the advance activity (which folds them into the DAG, fails the
// dependents a block made impossible and dispatches ready tasks up to maxParallelTasks), and ends
// the job. It is deterministic: all I/O happens in activities and time comes from the context.
// Its own state is a few counts, whatever the size of the job, so each replay is cheap; each
// generation hands over to a fresh one (continueAsNew) after a bounded number of events.
import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import { JOB_EVENT, type JobEvent, type JobOrchestrationInput } from '../shared/app/job-events.js';
import type { JobHeader } from '../shared/app/job-runner.js';
import type { AdvanceRequest, Heard, JobProgress } from '../shared/app/job-progress.js';
import { ACTIVITIES } from './activity-names.js';
import { defect } from '../shared/app/defects.js';

const EVENTS_PER_GENERATION = 50;
/**
 * While tasks are in flight, the store is asked this often whether any ended without a notice
 * reaching us, or lost their queue message (either can die with a host; found by the simulator).
 */
const WATCHDOG_MS = 30_000;
/** Every activity touches the store or queues: each retries through transient failures (1 s, doubling, 6 tries). */
const STORE_RETRY = Object.assign(new df.RetryOptions(1000, 6), { backoffCoefficient: 2, maxRetryIntervalInMilliseconds: 30_000 });


export const jobOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput() as JobOrchestrationInput;
  const header = (yield context.df.callActivityWithRetry(ACTIVITIES.loadHeader, STORE_RETRY, input.jobId)) as JobHeader | null;
  if (!header) return { jobId: input.jobId, outcome: 'missing' };
  if (header.state === 'completed') return { jobId: input.jobId, outcome: 'completed' };

  const runId = input.runId ?? context.df.newGuid(input.jobId);
  let seq = input.seq ?? 0;
  let maxParallelTasks = header.maxParallelTasks;
  let onAllTasksComplete = header.onAllTasksComplete;
  let disabled = header.state === 'disabled';
  let terminateReason: string | undefined = header.state === 'terminating' ? header.terminateReason ?? 'UserTerminate' : undefined;
  let events = 0;

  // Each generation starts with a call, so it knows where the job stands; it carries what the
  // previous generation heard but did not pass on yet.
  let heard: Heard = input.heard ?? { ended: [], added: [], reload: false, sweep: false };
  let progress: JobProgress | undefined;
  let advancing: { task: Task; request: AdvanceRequest } | undefined;
  let nextEvent = context.df.waitForExternalEvent(JOB_EVENT);
  const deadline = header.deadline ? context.df.createTimer(new Date(header.deadline)) : undefined;
  let watchdog: Task | undefined;

  for (;;) {
    // The library resolves a Task.any only on completions that happen after it is built, so a
    // call that finished while another task won the last round is collected here, not waited for.
    if (advancing && (advancing.task.isCompleted || advancing.task.isFaulted)) {
      if (advancing.task.isFaulted) heard = merge(advancing.request, heard);
      else progress = advancing.task.result as JobProgress;
      advancing = undefined;
    }
    if (deadline?.isCompleted && !terminateReason) terminateReason = 'MaxWallClockTimeExpiry';
    if (watchdog?.isCompleted) {
      watchdog = undefined;
      heard.sweep = true;
    }

    if (terminateReason) {
      yield context.df.callActivityWithRetry(ACTIVITIES.finishJob, STORE_RETRY, { jobId: input.jobId, reason: terminateReason });
      return { jobId: input.jobId, outcome: 'terminated', reason: terminateReason };
    }
    // A generation that has heard enough starts no more calls: it hands over at the next quiet moment.
    const handingOver = events >= EVENTS_PER_GENERATION && progress !== undefined;
    if (!advancing && !handingOver && needsAdvance(heard, progress, disabled, maxParallelTasks)) {
      if (defect('nondeterministic-orchestrator') && !context.df.isReplaying) yield context.df.callActivity(ACTIVITIES.loadHeader, input.jobId);
      const request: AdvanceRequest = { jobId: input.jobId, runId, seq: ++seq, ...heard, dispatch: !disabled, maxParallelTasks };
      heard = { ended: [], added: [], reload: false, sweep: false };
      advancing = { task: context.df.callActivityWithRetry(ACTIVITIES.advance, STORE_RETRY, request), request };
    }
    if (!advancing && progress?.finished && isEmpty(heard) && onAllTasksComplete === 'terminatejob') {
      yield context.df.callActivityWithRetry(ACTIVITIES.finishJob, STORE_RETRY, { jobId: input.jobId, reason: 'AllTasksComplete' });
      return { jobId: input.jobId, outcome: 'completed' };
    }
    // The bug benchmark's lost-notice defects model a notice lost with no recovery: no watchdog.
    const watchdogOff = defect('lost-wakeup') || defect('terminate-task-silent') || defect('dispatch-not-idempotent');
    if (!watchdog && (progress?.inflight ?? 0) > 0 && !watchdogOff) {
      watchdog = context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + WATCHDOG_MS));
    }
    if (handingOver && !advancing) {
      context.df.continueAsNew({ jobId: input.jobId, generation: input.generation + 1, runId, seq, heard } satisfies JobOrchestrationInput);
      return undefined;
    }

    const waitOn: Task[] = [nextEvent];
    if (advancing) waitOn.push(advancing.task);
    if (deadline && !deadline.isCompleted) waitOn.push(deadline);
    if (watchdog) waitOn.push(watchdog);
    const winner: Task = yield context.df.Task.any(waitOn);
    if (winner !== nextEvent) {
      if (deadline && winner === deadline) terminateReason = 'MaxWallClockTimeExpiry';
      // Otherwise an advance call or the watchdog: collected at the top of the loop.
      continue;
    }

    events++;
    const event = nextEvent.result as JobEvent;
    nextEvent = context.df.waitForExternalEvent(JOB_EVENT);
    switch (event.type) {
      case 'taskEnded':
        if (defect('lost-wakeup') && advancing) break;
        heard.ended.push({ taskId: event.taskId, dependencyAction: event.dependencyAction });
        if (event.jobAction === 'terminate') terminateReason = 'TaskFailed';
        else if (event.jobAction === 'disable' && !disabled) {
          disabled = true;
          yield context.df.callActivityWithRetry(ACTIVITIES.disableJob, STORE_RETRY, input.jobId);
        }
        break;
      case 'tasksAdded':
        heard.added.push(...event.taskIds);
        break;
      case 'terminate':
        terminateReason = event.reason || 'UserTerminate';
        break;
      case 'update':
        if (event.maxParallelTasks !== undefined) maxParallelTasks = event.maxParallelTasks;
        if (event.onAllTasksComplete !== undefined) onAllTasksComplete = event.onAllTasksComplete;
        break;
      case 'reload':
        heard.reload = true;
        break;
    }
  }
};

function needsAdvance(heard: Heard, progress: JobProgress | undefined, disabled: boolean, maxParallelTasks: number): boolean {
  if (!progress || !isEmpty(heard)) return true;
  if (disabled || progress.backlog === 0) return false;
  return maxParallelTasks === -1 || progress.inflight < maxParallelTasks;
}

function isEmpty(heard: Heard): boolean {
  return heard.ended.length === 0 && heard.added.length === 0 && !heard.reload && !heard.sweep;
}

/** A call that failed for good: what it carried is handed to the next call. */
function merge(failed: AdvanceRequest, heard: Heard): Heard {
  return {
    ended: [...failed.ended, ...heard.ended],
    added: [...failed.added, ...heard.added],
    reload: failed.reload || heard.reload,
    sweep: failed.sweep || heard.sweep,
  };
}
