// One orchestration per job drives the job's DAG: it hears every task's end and every added task,
// hands them in batches to the advance activity (which folds them into the DAG, fails the
// dependents a block made impossible and dispatches ready tasks up to maxParallelTasks), and ends
// the job. It is deterministic: all I/O happens in activities and time comes from the context.
// Its own state is a few counts, whatever the size of the job, so each replay is cheap; each
// generation hands over to a fresh one (continueAsNew) after a bounded number of events.
import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import { JOB_EVENT, type JobEvent, type JobOrchestrationInput, type JobSettings } from '../shared/app/job-events.js';
import type { JobHeader } from '../shared/app/job-runner.js';
import type { AdvanceRequest, Heard, JobProgress } from '../shared/app/job-progress.js';
import { ACTIVITIES } from './activity-names.js';
import { defect } from '../shared/app/defects.js';

/** Short generations keep every replay short; a new generation costs no call, it carries its state over. */
const EVENTS_PER_GENERATION = 16;
/**
 * While tasks are in flight, the store is asked this often whether any ended without a notice
 * reaching us, or lost their queue message (either can die with a host; found by the simulator).
 */
const WATCHDOG_MS = 30_000;
/** Every activity touches the store or queues: each retries through transient failures (1 s, doubling, 6 tries). */
const STORE_RETRY = Object.assign(new df.RetryOptions(1000, 6), { backoffCoefficient: 2, maxRetryIntervalInMilliseconds: 30_000 });

export const jobOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput() as JobOrchestrationInput;
  let job: JobSettings;
  if (input.carried) job = { ...input.carried.settings };
  else {
    const header = (yield context.df.callActivityWithRetry(ACTIVITIES.loadHeader, STORE_RETRY, input.jobId)) as JobHeader | null;
    if (!header) return { jobId: input.jobId, outcome: 'missing' };
    if (header.state === 'completed') return { jobId: input.jobId, outcome: 'completed' };
    job = settingsOf(header);
  }

  const runId = input.runId ?? context.df.newGuid(input.jobId);
  let seq = input.seq ?? 0;
  let events = 0;
  /** maxParallelTasks changed since the last call: room may have opened. */
  let settingsChanged = false;
  // A later generation starts from what the one before knew and heard, with no call of its own.
  let heard: Heard = input.heard ?? { ended: [], added: [], reload: false, sweep: false };
  let progress: JobProgress | undefined = input.carried?.progress;
  let advancing: { task: Task; request: AdvanceRequest } | undefined;
  let nextEvent = context.df.waitForExternalEvent(JOB_EVENT);
  const deadline = job.deadline ? context.df.createTimer(new Date(job.deadline)) : undefined;
  // The watchdog's time is carried over too: short generations must not keep putting it off.
  let watchdogAt: number | undefined = input.carried?.watchdogAt;
  // The bug benchmark's lost-notice defects model a notice lost with no recovery: no watchdog, no sweeps.
  const watchdogOff = defect('lost-wakeup') || defect('terminate-task-silent') || defect('dispatch-not-idempotent');
  let watchdog: Task | undefined = watchdogAt !== undefined ? context.df.createTimer(new Date(watchdogAt)) : undefined;

  for (;;) {
    // The library resolves a Task.any only on completions that happen after it is built, so a
    // call that finished while another task won the last round is collected here, not waited for.
    if (advancing && (advancing.task.isCompleted || advancing.task.isFaulted)) {
      if (advancing.task.isFaulted) heard = merge(advancing.request, heard);
      else progress = advancing.task.result as JobProgress;
      advancing = undefined;
    }
    if (deadline?.isCompleted && !job.terminateReason) job.terminateReason = 'MaxWallClockTimeExpiry';
    if (watchdog?.isCompleted) {
      watchdog = undefined;
      watchdogAt = undefined;
      heard.sweep = true;
    }

    if (job.terminateReason) {
      const reason = job.terminateReason;
      yield context.df.callActivityWithRetry(ACTIVITIES.finishJob, STORE_RETRY, { jobId: input.jobId, reason });
      return { jobId: input.jobId, outcome: 'terminated', reason };
    }
    // A generation that has heard enough starts no more calls: it hands over at the next quiet moment.
    // At least as long as the tasks in flight, so the sweep after a handover costs under one read per event.
    const handingOver = progress !== undefined && events >= Math.max(EVENTS_PER_GENERATION, progress.inflight);
    if (!advancing && !handingOver && needsAdvance(heard, progress, job, settingsChanged)) {
      if (defect('nondeterministic-orchestrator') && !context.df.isReplaying) yield context.df.callActivity(ACTIVITIES.loadHeader, input.jobId);
      const request: AdvanceRequest = { jobId: input.jobId, runId, seq: ++seq, ...heard, dispatch: !job.disabled, maxParallelTasks: job.maxParallelTasks };
      heard = { ended: [], added: [], reload: false, sweep: false };
      settingsChanged = false;
      advancing = { task: context.df.callActivityWithRetry(ACTIVITIES.advance, STORE_RETRY, request), request };
    }
    if (!advancing && progress?.finished && isEmpty(heard) && job.onAllTasksComplete === 'terminatejob') {
      yield context.df.callActivityWithRetry(ACTIVITIES.finishJob, STORE_RETRY, { jobId: input.jobId, reason: 'AllTasksComplete' });
      return { jobId: input.jobId, outcome: 'completed' };
    }
    if (!watchdog && (progress?.inflight ?? 0) > 0 && !watchdogOff) {
      watchdogAt = context.df.currentUtcDateTime.getTime() + WATCHDOG_MS;
      watchdog = context.df.createTimer(new Date(watchdogAt));
    }
    if (handingOver && !advancing) {
      // Events that reached this generation's history but not yet this code are dropped by
      // continueAsNew (the JS SDK keeps no unprocessed events), so the next generation's first
      // call asks the store about every task in flight.
      // A change of maxParallelTasks not yet acted on asks the next generation for a call.
      const carried = { settings: job, progress: settingsChanged ? { ...progress!, more: true } : progress!, ...(watchdogAt !== undefined ? { watchdogAt } : {}) };
      const next: Heard = { ...heard, sweep: (progress!.inflight > 0 && !watchdogOff) || heard.sweep };
      context.df.continueAsNew({ jobId: input.jobId, generation: input.generation + 1, runId, seq, heard: next, carried } satisfies JobOrchestrationInput);
      return undefined;
    }

    const waitOn: Task[] = [nextEvent];
    if (advancing) waitOn.push(advancing.task);
    if (deadline && !deadline.isCompleted) waitOn.push(deadline);
    if (watchdog) waitOn.push(watchdog);
    const winner: Task = yield context.df.Task.any(waitOn);
    if (winner !== nextEvent) {
      if (deadline && winner === deadline) job.terminateReason = 'MaxWallClockTimeExpiry';
      // Otherwise an advance call or the watchdog: collected at the top of the loop.
      continue;
    }

    events++;
    const event = nextEvent.result as JobEvent;
    nextEvent = context.df.waitForExternalEvent(JOB_EVENT);
    switch (event.type) {
      case 'tasksEnded':
        if (defect('lost-wakeup') && advancing) break;
        for (const end of event.ends) {
          heard.ended.push({ taskId: end.taskId, dependencyAction: end.dependencyAction });
          if (end.jobAction === 'terminate') job.terminateReason = 'TaskFailed';
          else if (end.jobAction === 'disable' && !job.disabled) {
            job.disabled = true;
            yield context.df.callActivityWithRetry(ACTIVITIES.disableJob, STORE_RETRY, input.jobId);
          }
        }
        break;
      case 'tasksAdded':
        heard.added.push(...event.taskIds);
        break;
      case 'terminate':
        job.terminateReason = event.reason || 'UserTerminate';
        break;
      case 'update':
        if (event.maxParallelTasks !== undefined) {
          job.maxParallelTasks = event.maxParallelTasks;
          settingsChanged = true;
        }
        if (event.onAllTasksComplete !== undefined) job.onAllTasksComplete = event.onAllTasksComplete;
        break;
      case 'reload':
        heard.reload = true;
        break;
    }
  }
};

function settingsOf(header: JobHeader): JobSettings {
  return {
    maxParallelTasks: header.maxParallelTasks,
    onAllTasksComplete: header.onAllTasksComplete,
    disabled: header.state === 'disabled',
    ...(header.state === 'terminating' ? { terminateReason: header.terminateReason ?? 'UserTerminate' } : {}),
    ...(header.deadline ? { deadline: header.deadline } : {}),
  };
}

function needsAdvance(heard: Heard, progress: JobProgress | undefined, job: JobSettings, settingsChanged: boolean): boolean {
  if (!progress || !isEmpty(heard)) return true;
  if (job.disabled || progress.backlog === 0) return false;
  return progress.more || settingsChanged;
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
