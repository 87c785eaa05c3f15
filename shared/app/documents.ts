// How jobs, tasks, pools and nodes are kept in the document store. Batch ids are unique
// case-insensitively, so a document's `id` is the lower-cased id and the id as the user wrote it is
// kept beside it. Tasks are partitioned by job, nodes by pool.
import { idKey, type StoredJob, type StoredTask } from '../batch/index.js';
import type { PriorityBand } from '../agent-protocol.js';
import type { AutoScaleState } from './autoscale-state.js';

export const CONTAINERS = {
  jobs: { name: 'jobs', partitionKeyPath: '/id' },
  tasks: { name: 'tasks', partitionKeyPath: '/jobId' },
  pools: { name: 'pools', partitionKeyPath: '/id' },
  nodes: { name: 'nodes', partitionKeyPath: '/poolId' },
} as const;

export interface JobDoc extends Omit<StoredJob, 'id'> {
  /** Lower-cased job id. */
  id: string;
  jobId: string;
  /** The job's orchestration instance. */
  instanceId: string;
  /**
   * Set while a submission is being written: such a job is invisible to the API, and a later
   * submission with the same id may take it over (its writer died half-way).
   */
  provisioning?: { since: number };
}

/** Where a task stands in scheduling, finer than Batch's `active`. */
export type SchedulingState = 'waiting' | 'queued' | 'claimed' | 'ended';

export interface TaskDoc extends Omit<StoredTask, 'id'> {
  /** Lower-cased task id. */
  id: string;
  /** Lower-cased job id (the partition key). */
  jobId: string;
  taskId: string;
  scheduling: SchedulingState;
  /** The current dispatch; claims and reports naming another one are stale. */
  dispatchId?: string;
  /** Epoch ms when the task was last put on its pool's queue. */
  queuedAt?: number;
  band?: PriorityBand;
  /** Set when the task ended: what its end means for dependents. */
  dependencyAction?: 'satisfy' | 'block';
}

export function jobKey(jobId: string): string {
  return idKey(jobId);
}

export function taskKey(taskId: string): string {
  return idKey(taskId);
}

export function jobInstanceId(jobId: string): string {
  return `job-${jobKey(jobId)}`;
}

export function toJobDoc(job: StoredJob): JobDoc {
  const { id, ...rest } = job;
  return { ...rest, id: jobKey(id), jobId: id, instanceId: jobInstanceId(id) };
}

export function toTaskDoc(jobId: string, task: StoredTask): TaskDoc {
  // Object.assign rather than a literal with a spread: a large job makes 100,000 of these, and in
  // V8 the literal costs ten times as much (about 6 µs against 0.6 µs a task).
  return Object.assign({}, task, { id: taskKey(task.id), jobId: jobKey(jobId), taskId: task.id, scheduling: 'waiting' as const });
}

export type AllocationState = 'steady' | 'resizing' | 'stopping';

export interface ResizeError {
  code: string;
  message: string;
  values?: { name: string; value: string }[];
}

export interface StartTaskSpec {
  commandLine: string;
  environmentSettings: { name: string; value: string }[];
  waitForSuccess: boolean;
}

export interface PoolDoc {
  /** Lower-cased pool id. */
  id: string;
  poolId: string;
  vmSize: string;
  state: 'active' | 'deleting';
  allocationState: AllocationState;
  allocationStateTransitionTime: string;
  creationTime: string;
  lastModified: string;
  targetDedicatedNodes: number;
  targetLowPriorityNodes: number;
  currentDedicatedNodes: number;
  currentLowPriorityNodes: number;
  taskSlotsPerNode: number;
  taskSchedulingPolicy: { nodeFillType: 'spread' | 'pack' };
  startTask?: StartTaskSpec;
  enableAutoScale: boolean;
  autoScaleFormula?: string;
  /** ISO 8601 duration. */
  autoScaleEvaluationInterval?: string;
  autoScaleRun?: { timestamp: string; results?: string; error?: { code: string; message: string; values?: { name: string; value: string }[] } };
  resizeErrors: ResizeError[];
  /** What scale-down does with tasks on removed nodes. */
  nodeDeallocationOption: 'requeue' | 'terminate' | 'taskcompletion' | 'retaineddata';
  /** Autoscale bookkeeping: evaluation schedule and metric sample history (shared/app/autoscale-state.ts). */
  autoScaleState?: AutoScaleState;
}

export type NodeState =
  | 'creating'
  | 'starting'
  | 'waitingforstarttask'
  | 'starttaskfailed'
  | 'idle'
  | 'running'
  | 'unusable'
  | 'offline'
  | 'preempted'
  | 'leavingpool';

export interface NodeTaskRef {
  jobId: string;
  taskId: string;
  dispatchId: string;
  slots?: number;
}

export interface NodeDoc {
  /** Lower-cased node id. */
  id: string;
  /** Lower-cased pool id (the partition key). */
  poolId: string;
  nodeId: string;
  isDedicated: boolean;
  state: NodeState;
  stateTransitionTime: string;
  lastBootTime?: string;
  /** Epoch ms of the last heartbeat. */
  lastHeartbeatAt?: number;
  taskSlots: number;
  runningTasks: NodeTaskRef[];
  /** The last tasks that ended on the node, newest first (from its heartbeats). */
  recentTasks: (NodeTaskRef & { endTime?: string })[];
  /** Tasks the control plane wants killed; handed to the agent in its next heartbeat answer. */
  killRequests: NodeTaskRef[];
  drain: boolean;
  shutdown: boolean;
  metrics?: { cpuPercent: number; memoryBytes: number };
}

export function poolKey(poolId: string): string {
  return idKey(poolId);
}

export function nodeKey(nodeId: string): string {
  return idKey(nodeId);
}
