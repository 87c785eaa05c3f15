// The Batch job and task model as fnbatch stores and returns it: Batch's REST names (camelCase)
// and enum spellings (lower case, as in the REST API's JSON). Validated specs carry every default
// Batch applies, so later code never has to ask "was this set?". Stored forms add state and
// execution details; eTags belong to the storage layer and are deliberately absent here.

import { UNLIMITED_DURATION_ISO } from './duration.js';

export const JOB_STATES = ['active', 'disabling', 'disabled', 'enabling', 'terminating', 'completed', 'deleting'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const TASK_STATES = ['active', 'preparing', 'running', 'completed'] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const ON_ALL_TASKS_COMPLETE = ['noaction', 'terminatejob'] as const;
export type OnAllTasksComplete = (typeof ON_ALL_TASKS_COMPLETE)[number];

export const ON_TASK_FAILURE = ['noaction', 'performexitoptionsjobaction'] as const;
export type OnTaskFailure = (typeof ON_TASK_FAILURE)[number];

export const JOB_ACTIONS = ['none', 'disable', 'terminate'] as const;
export type JobAction = (typeof JOB_ACTIONS)[number];

export const DEPENDENCY_ACTIONS = ['satisfy', 'block'] as const;
export type DependencyAction = (typeof DEPENDENCY_ACTIONS)[number];

export const TASK_RESULTS = ['success', 'failure'] as const;
export type TaskResult = (typeof TASK_RESULTS)[number];

export const FAILURE_CATEGORIES = ['usererror', 'servererror'] as const;
export type FailureCategory = (typeof FAILURE_CATEGORIES)[number];

export interface NameValuePair {
  name: string;
  value: string;
}

export interface EnvironmentSetting {
  name: string;
  /** Batch allows a setting without a value. */
  value?: string;
}

export interface PoolInformation {
  poolId: string;
}

export interface JobConstraints {
  /** ISO 8601 duration; UNLIMITED_DURATION_ISO when there is no limit. */
  maxWallClockTime: string;
  /** -1 retries forever, 0 never retries. */
  maxTaskRetryCount: number;
}

/** A job as accepted from a client, with Batch's defaults filled in. */
export interface JobSpec {
  id: string;
  displayName?: string;
  poolInfo: PoolInformation;
  priority: number;
  constraints: JobConstraints;
  usesTaskDependencies: boolean;
  onAllTasksComplete: OnAllTasksComplete;
  onTaskFailure: OnTaskFailure;
  commonEnvironmentSettings: EnvironmentSetting[];
  /** -1 means unlimited. */
  maxParallelTasks: number;
  metadata: NameValuePair[];
}

export interface TaskIdRange {
  start: number;
  end: number;
}

export interface TaskDependencies {
  taskIds: string[];
  taskIdRanges: TaskIdRange[];
}

/** As the client gave it; absent fields get Batch's per-condition defaults at resolution time. */
export interface ExitOptions {
  jobAction?: JobAction;
  dependencyAction?: DependencyAction;
}

export interface ExitCodeMapping {
  code: number;
  exitOptions: ExitOptions;
}

export interface ExitCodeRangeMapping {
  start: number;
  end: number;
  exitOptions: ExitOptions;
}

export interface ExitConditions {
  exitCodes: ExitCodeMapping[];
  exitCodeRanges: ExitCodeRangeMapping[];
  /** Used when the task could not start (Batch: "pre-processing error"). */
  preProcessingError?: ExitOptions;
  default?: ExitOptions;
}

export interface TaskConstraints {
  maxWallClockTime: string;
  maxTaskRetryCount: number;
  retentionTime: string;
}

/** A task as accepted from a client, with Batch's defaults filled in. */
export interface TaskSpec {
  id: string;
  displayName?: string;
  commandLine: string;
  environmentSettings: EnvironmentSetting[];
  dependsOn?: TaskDependencies;
  constraints: TaskConstraints;
  exitConditions?: ExitConditions;
  requiredSlots: number;
}

export interface JobExecutionInfo {
  startTime: string;
  endTime?: string;
  /** Batch's values include JMComplete, MaxWallClockTimeExpiry, TaskFailed, UserTerminate; fnbatch adds AllTasksComplete. */
  terminateReason?: string;
}

export interface StoredJob extends JobSpec {
  state: JobState;
  stateTransitionTime: string;
  previousState?: JobState;
  previousStateTransitionTime?: string;
  creationTime: string;
  lastModified: string;
  executionInfo: JobExecutionInfo;
  /** Bumped by every accepted state transition; see task-state.ts. */
  stateVersion: number;
}

export interface TaskFailureInfo {
  category: FailureCategory;
  code: string;
  message: string;
  details?: NameValuePair[];
}

export interface TaskExecutionInfo {
  startTime?: string;
  endTime?: string;
  exitCode?: number;
  result?: TaskResult;
  retryCount: number;
  requeueCount: number;
  lastRetryTime?: string;
  lastRequeueTime?: string;
  failureInfo?: TaskFailureInfo;
}

export interface TaskNodeInfo {
  poolId: string;
  nodeId: string;
}

export interface StoredTask extends TaskSpec {
  state: TaskState;
  stateTransitionTime: string;
  previousState?: TaskState;
  previousStateTransitionTime?: string;
  creationTime: string;
  executionInfo: TaskExecutionInfo;
  nodeInfo?: TaskNodeInfo;
  /** Bumped by every accepted state transition; see task-state.ts. */
  stateVersion: number;
}

export const JOB_DEFAULTS = {
  priority: 0,
  maxWallClockTime: UNLIMITED_DURATION_ISO,
  maxTaskRetryCount: 0,
  usesTaskDependencies: false,
  onAllTasksComplete: 'noaction',
  onTaskFailure: 'noaction',
  maxParallelTasks: -1,
} as const satisfies {
  priority: number;
  maxWallClockTime: string;
  maxTaskRetryCount: number;
  usesTaskDependencies: boolean;
  onAllTasksComplete: OnAllTasksComplete;
  onTaskFailure: OnTaskFailure;
  maxParallelTasks: number;
};

export const TASK_DEFAULTS = {
  maxWallClockTime: UNLIMITED_DURATION_ISO,
  /** Batch keeps a task's directory for 7 days after it completes. */
  retentionTime: 'P7D',
  requiredSlots: 1,
} as const;

export const LIMITS = {
  minPriority: -1000,
  maxPriority: 1000,
  maxDisplayNameLength: 1024,
  /** addtaskcollection: at most this many tasks per call. */
  maxTasksPerCollection: 100,
  /** addtaskcollection: at most this many bytes of request body. */
  maxCollectionBodyBytes: 1024 * 1024,
  /** fnbatch's job-with-tasks extension: the most tasks one job submission may carry. */
  maxTasksPerJobSubmission: 100_000,
  /** Batch: the combined length of a task's dependsOn.taskIds. */
  maxDependencyIdChars: 64_000,
} as const;

/** A new job as stored right after it was accepted at time `at` (ISO 8601). */
export function newStoredJob(spec: JobSpec, at: string): StoredJob {
  return {
    ...spec,
    state: 'active',
    stateTransitionTime: at,
    creationTime: at,
    lastModified: at,
    executionInfo: { startTime: at },
    stateVersion: 0,
  };
}

/** A new task as stored right after it was accepted at time `at` (ISO 8601). */
export function newStoredTask(spec: TaskSpec, at: string): StoredTask {
  // Object.assign rather than a literal with a spread: a large job makes 100,000 of these, and in
  // V8 the literal costs ten times as much.
  const stored: StoredTask = Object.assign({}, spec, {
    state: 'active' as const,
    stateTransitionTime: at,
    creationTime: at,
    executionInfo: { retryCount: 0, requeueCount: 0 },
    stateVersion: 0,
  });
  return stored;
}
