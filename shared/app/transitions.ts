// The bookkeeping every Batch state change carries (previous state, transition times, a version
// bump so late or duplicate reports are recognised), in one place for tasks and jobs.
import type { DependencyAction, JobState, TaskFailureInfo, TaskState } from '../batch/index.js';
import type { JobDoc, TaskDoc } from './documents.js';

export function taskMovedTo(task: TaskDoc, state: TaskState, at: string): TaskDoc {
  return {
    ...task,
    previousState: task.state,
    previousStateTransitionTime: task.stateTransitionTime,
    state,
    stateTransitionTime: at,
    stateVersion: task.stateVersion + 1,
  };
}

/** A task that ends without having run to an exit of its own (terminated, blocked upstream, its job ended). */
export function taskEndedWithFailure(task: TaskDoc, at: string, failureInfo: TaskFailureInfo, dependencyAction: DependencyAction): TaskDoc {
  return {
    ...taskMovedTo(task, 'completed', at),
    scheduling: 'ended',
    dependencyAction,
    executionInfo: { ...task.executionInfo, endTime: at, result: 'failure', failureInfo },
  };
}

export function jobMovedTo(job: JobDoc, state: JobState, at: string): JobDoc {
  return {
    ...job,
    previousState: job.state,
    previousStateTransitionTime: job.stateTransitionTime,
    state,
    stateTransitionTime: at,
    lastModified: at,
    stateVersion: job.stateVersion + 1,
  };
}
