// Task and job state machines, with a monotonic version so late or duplicate reports are refused.
//
// Every accepted transition increments `stateVersion`. Whoever causes a transition (dispatcher,
// node agent, API call) states the version it last saw; a report made against any other version
// is stale (a duplicate delivery, or a report from an attempt that was since retried or requeued)
// and is rejected with ConditionNotMet (412) without changing anything.
//
// Task transitions (Batch: active -> preparing -> running -> completed):
//   schedule:   active -> preparing            (assigned to a node; job preparation runs)
//   start:      active | preparing -> running  (Batch skips preparing when there is nothing to prepare)
//   complete:   running | preparing -> completed; also active -> completed (terminated, or failed
//               upstream, before it ran)
//   retry:      running -> active, retryCount + 1 (the command failed and retries remain)
//   requeue:    preparing | running -> active, requeueCount + 1 (the node was lost; not a retry)
//   reactivate: completed (result failure) -> active, retryCount reset to 0 (Batch refuses to
//               reactivate a task that succeeded: TaskSucceeded)

import { BatchErrorCodes, conditionNotMet, stateConflict, type BatchError } from './errors.js';
import type { JobState, StoredJob, StoredTask, TaskExecutionInfo, TaskFailureInfo, TaskNodeInfo, TaskResult, TaskState } from './model.js';

export type TaskEvent =
  | { type: 'schedule'; nodeInfo: TaskNodeInfo }
  | { type: 'start'; nodeInfo?: TaskNodeInfo }
  | { type: 'complete'; result: TaskResult; exitCode?: number; failureInfo?: TaskFailureInfo }
  | { type: 'retry'; exitCode?: number; failureInfo?: TaskFailureInfo }
  | { type: 'requeue' }
  | { type: 'reactivate' };

export type TaskEventType = TaskEvent['type'];

const TASK_TRANSITIONS: Record<TaskEventType, { from: readonly TaskState[]; to: TaskState }> = {
  schedule: { from: ['active'], to: 'preparing' },
  start: { from: ['active', 'preparing'], to: 'running' },
  complete: { from: ['active', 'preparing', 'running'], to: 'completed' },
  retry: { from: ['running'], to: 'active' },
  requeue: { from: ['preparing', 'running'], to: 'active' },
  reactivate: { from: ['completed'], to: 'active' },
};

export function canTransitionTask(from: TaskState, event: TaskEventType): boolean {
  return TASK_TRANSITIONS[event].from.includes(from);
}

export function taskStateAfter(event: TaskEventType): TaskState {
  return TASK_TRANSITIONS[event].to;
}

export type TransitionResult<T> =
  | { ok: true; value: T }
  | { ok: false; reason: 'stale' | 'illegal'; error: BatchError };

export interface TransitionContext {
  /** The stateVersion the reporter last saw. */
  expectedVersion: number;
  /** ISO 8601 time of the transition. */
  at: string;
}

type TaskStateFields = Pick<StoredTask, 'state' | 'stateVersion' | 'stateTransitionTime' | 'previousState' | 'previousStateTransitionTime' | 'executionInfo' | 'nodeInfo'>;

/** Applies `event` to a task, returning the new task (the input is not modified). */
export function applyTaskEvent<T extends TaskStateFields>(task: T, event: TaskEvent, context: TransitionContext): TransitionResult<T> {
  if (context.expectedVersion !== task.stateVersion) {
    return {
      ok: false,
      reason: 'stale',
      error: conditionNotMet(`The report was made against task state version ${context.expectedVersion}, but the task is at version ${task.stateVersion}.`),
    };
  }
  const reactivatingSuccess = event.type === 'reactivate' && task.executionInfo.result === 'success';
  if (!canTransitionTask(task.state, event.type) || reactivatingSuccess) {
    return { ok: false, reason: 'illegal', error: illegalTaskTransition(task, event.type) };
  }

  const info: TaskExecutionInfo = { ...task.executionInfo };
  let nodeInfo = task.nodeInfo;
  switch (event.type) {
    case 'schedule':
      nodeInfo = event.nodeInfo;
      break;
    case 'start':
      if (event.nodeInfo) nodeInfo = event.nodeInfo;
      info.startTime = context.at;
      delete info.endTime;
      delete info.exitCode;
      delete info.result;
      delete info.failureInfo;
      break;
    case 'complete':
      info.endTime = context.at;
      info.result = event.result;
      if (event.exitCode !== undefined) info.exitCode = event.exitCode;
      else delete info.exitCode;
      if (event.failureInfo) info.failureInfo = event.failureInfo;
      else delete info.failureInfo;
      break;
    case 'retry':
      info.retryCount += 1;
      info.lastRetryTime = context.at;
      if (event.exitCode !== undefined) info.exitCode = event.exitCode;
      if (event.failureInfo) info.failureInfo = event.failureInfo;
      break;
    case 'requeue':
      info.requeueCount += 1;
      info.lastRequeueTime = context.at;
      nodeInfo = undefined;
      break;
    case 'reactivate':
      info.retryCount = 0;
      delete info.endTime;
      delete info.exitCode;
      delete info.result;
      delete info.failureInfo;
      nodeInfo = undefined;
      break;
  }
  const next: T = {
    ...task,
    state: TASK_TRANSITIONS[event.type].to,
    stateVersion: task.stateVersion + 1,
    previousState: task.state,
    previousStateTransitionTime: task.stateTransitionTime,
    stateTransitionTime: context.at,
    executionInfo: info,
  };
  if (nodeInfo) next.nodeInfo = nodeInfo;
  else delete next.nodeInfo;
  return { ok: true, value: next };
}

function illegalTaskTransition(task: TaskStateFields, event: TaskEventType): BatchError {
  const reason = `A task in state '${task.state}' cannot ${event}.`;
  if (event === 'reactivate' && task.state === 'completed' && task.executionInfo.result === 'success') {
    return stateConflict(BatchErrorCodes.TaskSucceeded, 'The specified task has already completed successfully.', reason);
  }
  if (task.state === 'completed') return stateConflict(BatchErrorCodes.TaskCompleted, 'The specified task is already in a completed state.', reason);
  return stateConflict(BatchErrorCodes.OperationInvalidForCurrentState, 'The specified operation is not valid for the current state of the resource.', reason);
}

// Job transitions:
//   disable:   active -> disabling;  disabled: disabling -> disabled
//   enable:    disabled | disabling -> enabling;  enabled: enabling -> active
//   terminate: active | disabling | disabled | enabling -> terminating;  terminated: terminating -> completed
//   delete:    any state but deleting -> deleting

export type JobEvent =
  | { type: 'disable' }
  | { type: 'disabled' }
  | { type: 'enable' }
  | { type: 'enabled' }
  | { type: 'terminate'; terminateReason?: string }
  | { type: 'terminated' }
  | { type: 'delete' };

export type JobEventType = JobEvent['type'];

const JOB_TRANSITIONS: Record<JobEventType, { from: readonly JobState[]; to: JobState }> = {
  disable: { from: ['active'], to: 'disabling' },
  disabled: { from: ['disabling'], to: 'disabled' },
  enable: { from: ['disabled', 'disabling'], to: 'enabling' },
  enabled: { from: ['enabling'], to: 'active' },
  terminate: { from: ['active', 'disabling', 'disabled', 'enabling'], to: 'terminating' },
  terminated: { from: ['terminating'], to: 'completed' },
  delete: { from: ['active', 'disabling', 'disabled', 'enabling', 'terminating', 'completed'], to: 'deleting' },
};

export function canTransitionJob(from: JobState, event: JobEventType): boolean {
  return JOB_TRANSITIONS[event].from.includes(from);
}

type JobStateFields = Pick<StoredJob, 'state' | 'stateVersion' | 'stateTransitionTime' | 'previousState' | 'previousStateTransitionTime' | 'executionInfo' | 'lastModified'>;

export function applyJobEvent<T extends JobStateFields>(job: T, event: JobEvent, context: TransitionContext): TransitionResult<T> {
  if (context.expectedVersion !== job.stateVersion) {
    return {
      ok: false,
      reason: 'stale',
      error: conditionNotMet(`The request was made against job state version ${context.expectedVersion}, but the job is at version ${job.stateVersion}.`),
    };
  }
  if (!canTransitionJob(job.state, event.type)) return { ok: false, reason: 'illegal', error: illegalJobTransition(job.state, event.type) };
  const executionInfo = { ...job.executionInfo };
  if (event.type === 'terminate' && event.terminateReason) executionInfo.terminateReason = event.terminateReason;
  if (event.type === 'terminated') executionInfo.endTime = context.at;
  return {
    ok: true,
    value: {
      ...job,
      state: JOB_TRANSITIONS[event.type].to,
      stateVersion: job.stateVersion + 1,
      previousState: job.state,
      previousStateTransitionTime: job.stateTransitionTime,
      stateTransitionTime: context.at,
      lastModified: context.at,
      executionInfo,
    },
  };
}

function illegalJobTransition(state: JobState, event: JobEventType): BatchError {
  const reason = `A job in state '${state}' cannot ${event}.`;
  switch (state) {
    case 'deleting':
      return stateConflict(BatchErrorCodes.JobBeingDeleted, 'The specified job has been marked for deletion and is being garbage collected.', reason);
    case 'completed':
      return stateConflict(BatchErrorCodes.JobCompleted, 'The specified job is already in a completed state.', reason);
    case 'terminating':
      return stateConflict(BatchErrorCodes.JobBeingTerminated, 'The specified job is being terminated.', reason);
    default:
      if (event === 'disable') return stateConflict(BatchErrorCodes.JobNotActive, 'The specified job is not in active state.', reason);
      return stateConflict(BatchErrorCodes.OperationInvalidForCurrentState, 'The specified operation is not valid for the current state of the resource.', reason);
  }
}
