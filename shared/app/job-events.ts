// What the job orchestration hears. Everything arrives as the one external event JOB_EVENT, so
// events are handled in the order they were raised.
import type { DependencyAction, JobAction, OnAllTasksComplete, TaskResult } from '../batch/index.js';
import type { Heard, JobProgress } from './job-progress.js';

export const JOB_EVENT = 'job';
export const JOB_ORCHESTRATOR = 'jobOrchestrator';

/** One task reached its end (not retried): what the orchestration needs to know of it. */
export interface TaskEnd {
  taskId: string;
  result: TaskResult;
  dependencyAction: DependencyAction;
  jobAction: JobAction;
}

export type JobEvent =
  /** One or more ends: ends reported together, or while a raise for the job was on its way, travel as one event. */
  | { type: 'tasksEnded'; ends: TaskEnd[] }
  | { type: 'tasksAdded'; taskIds: string[] }
  | { type: 'terminate'; reason: string }
  | { type: 'update'; maxParallelTasks?: number; onAllTasksComplete?: OnAllTasksComplete; priority?: number }
  /** Task states changed outside the orchestration (reactivation): rebuild from the store. */
  | { type: 'reload' };

export interface JobOrchestrationInput {
  jobId: string;
  generation: number;
  /** Set by the first generation and handed on: names this run of the job to the advance activity. */
  runId?: string;
  /** The number of the last advance call made by earlier generations. */
  seq?: number;
  /** What the previous generation heard and had not yet passed on. */
  heard?: Heard;
  /** What the previous generation knew of the job, so the next one need not ask. */
  carried?: { settings: JobSettings; progress: JobProgress; watchdogAt?: number };
}

/** The job's settings as its orchestration tracks them between the events that change them. */
export interface JobSettings {
  maxParallelTasks: number;
  onAllTasksComplete: OnAllTasksComplete;
  disabled: boolean;
  terminateReason?: string;
  /** ISO time at which the job's maxWallClockTime expires. */
  deadline?: string;
}

/** How the services reach job orchestrations: the DurableClient in functions, the backend in a simulation. */
export interface JobOrchestrations {
  start(instanceId: string, input: JobOrchestrationInput): Promise<void>;
  raise(instanceId: string, event: JobEvent): Promise<void>;
  /** Ends the instance at once (job deletion); a missing or finished instance is fine. */
  terminate(instanceId: string, reason: string): Promise<void>;
}
