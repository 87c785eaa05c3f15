// The contract between the control plane (the Functions app) and the node agents. Tasks reach a
// pool through its Azure Storage queues; an agent claims each task over HTTP before starting it
// (so a terminated job or a task already running elsewhere is never started), reports its end over
// HTTP (so the job's orchestration hears of it at once; under load claims and ends travel in
// batches, AGENT_ROUTES.reports), and heartbeats, learning in the answer
// which tasks to kill and whether to drain. Where the control plane offers it, an idle agent
// waits for new work on AGENT_ROUTES.workSignal rather than polling, and tells it of messages it
// gave back (AGENT_ROUTES.workReturned). Task output goes to blob storage.
import { createHash } from 'node:crypto';
import type { BatchErrorBody } from './batch/errors.js';

export const PROTOCOL_VERSION = 1;

/** Job priority bands, highest first: agents take from a higher band before a lower one. */
export const PRIORITY_BANDS = ['high', 'normal', 'low'] as const;
export type PriorityBand = (typeof PRIORITY_BANDS)[number];

export function priorityBand(priority: number): PriorityBand {
  if (priority >= 334) return 'high';
  if (priority <= -334) return 'low';
  return 'normal';
}

/**
 * Storage queue names allow lowercase letters, digits and single hyphens (3-63 characters); pool
 * ids allow more, so the name keeps a readable prefix and a hash of the case-folded id.
 */
export function poolQueueName(poolId: string, band: PriorityBand): string {
  const readable = poolId.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 30) || 'pool';
  const hash = createHash('sha256').update(poolId.toLowerCase()).digest('hex').slice(0, 10);
  return `fnb-${readable}-${hash}-${band}`.replace(/-{2,}/g, '-');
}

/** The blob container holding task outputs; blob names are `<jobId>/<taskId>/<file>`. */
export const TASK_OUTPUT_CONTAINER = 'fnbatch-task-outputs';

export function taskOutputBlobName(jobId: string, taskId: string, file: 'stdout.txt' | 'stderr.txt'): string {
  return `${jobId.toLowerCase()}/${taskId.toLowerCase()}/${file}`;
}

export interface NameValue {
  name: string;
  value: string;
}

/** A task as queued for a pool (JSON in the queue message body). */
export interface TaskMessage {
  v: typeof PROTOCOL_VERSION;
  jobId: string;
  taskId: string;
  /** Identifies this dispatch of this attempt; claims and reports name it, so stale ones are refused. */
  dispatchId: string;
  retryCount: number;
  commandLine: string;
  /** The job's common environment settings followed by the task's own (the task's win). */
  environment: NameValue[];
  /** Milliseconds; absent = unlimited. */
  maxWallClockMs?: number;
  requiredSlots: number;
  enqueuedAt: string;
}

/** Paths of the agent API, under the Functions route prefix (/api). Function-key protected. */
export const AGENT_ROUTES = {
  claim: 'agent/claim',
  complete: 'agent/complete',
  /** Several claims, or several end reports, in one call: what piled up while the agent's earlier calls were out. */
  reports: 'agent/reports',
  release: 'agent/release',
  heartbeat: 'agent/heartbeat',
  startTask: 'agent/starttask',
  /** Held until work is sent to the pool's queues (where the heartbeat answer offers it). */
  workSignal: 'agent/worksignal',
  /**
   * A node made messages it held visible again (given back unstarted, or released): they are work
   * for its peers, as a send is, and the signal tells the peers waiting on it.
   */
  workReturned: 'agent/workreturned',
} as const;

export interface ClaimRequest {
  poolId: string;
  nodeId: string;
  jobId: string;
  taskId: string;
  dispatchId: string;
  /**
   * When this agent process started. A node that restarted under the same id lost whatever its
   * earlier incarnation held; a claim made after the task's start by that incarnation takes over.
   */
  bootTime?: string;
}

export type ClaimRefusal = 'JobNotActive' | 'TaskNotActive' | 'StaleDispatch' | 'UnknownTask' | 'NodeNotUsable';

export type ClaimResponse =
  | { granted: true; retryCount: number; requeueCount: number }
  | { granted: false; reason: ClaimRefusal };

export interface TaskFailureInfo {
  category: 'usererror' | 'servererror';
  code: string;
  message: string;
}

export interface CompleteRequest {
  poolId: string;
  nodeId: string;
  jobId: string;
  taskId: string;
  dispatchId: string;
  /** null when the process never started or was killed before exiting on its own. */
  exitCode: number | null;
  startTime: string;
  endTime: string;
  /** Present when the task did not run to an exit of its own (command not found, wall clock, ...). */
  failure?: TaskFailureInfo;
  /** Why the agent ended the task itself. */
  killedBy?: 'maxWallClockTime' | 'terminate';
}

export interface CompleteResponse {
  /** False for a duplicate, late or stale report: it changed nothing. */
  accepted: boolean;
}

/** At most this many claims plus end reports in one call to AGENT_ROUTES.reports. */
export const MAX_REPORTS_PER_CALL = 100;

export interface ReportsRequest {
  claims: ClaimRequest[];
  completions: CompleteRequest[];
}

/** What one item of a reports call got: its answer, or the error the single call would have got. */
export type ItemOutcome<T> = { ok: T } | { status: number; error: BatchErrorBody };

export interface ReportsResponse {
  /** In the order of the request's items. */
  claims: ItemOutcome<ClaimResponse>[];
  completions: ItemOutcome<CompleteResponse>[];
}

/** Gives a claimed task back (agent shutting down): it becomes active again, requeueCount + 1. */
export interface ReleaseRequest {
  poolId: string;
  nodeId: string;
  jobId: string;
  taskId: string;
  dispatchId: string;
  /**
   * The node claimed the task ahead of a free slot and never started it: it goes back to the
   * queue without counting a requeue. Without it the release is a requeue (the node stopped it).
   */
  unstarted?: boolean;
}

export interface RunningTaskReport {
  jobId: string;
  taskId: string;
  dispatchId: string;
  slots: number;
}

export interface NodeMetrics {
  cpuPercent: number;
  memoryBytes: number;
  diskBytes?: number;
  networkInBytes?: number;
  networkOutBytes?: number;
}

export type AgentNodeState = 'starting' | 'waitingforstarttask' | 'starttaskfailed' | 'idle' | 'running' | 'leavingpool';

export interface HeartbeatRequest {
  poolId: string;
  nodeId: string;
  isDedicated: boolean;
  state: AgentNodeState;
  bootTime: string;
  taskSlots: number;
  runningTasks: RunningTaskReport[];
  /**
   * Tasks the node claimed ahead of a free slot and has not started yet. They take no slot, but
   * kill requests for them are kept and answered like those for running tasks.
   */
  claimedAhead?: { jobId: string; taskId: string; dispatchId: string }[];
  metrics: NodeMetrics;
  /** Queue messages the agent could not parse and moved to `<queue>-poison` since the last heartbeat. */
  poisoned?: { queue: string; messageId: string; reason: string }[];
}

export interface HeartbeatResponse {
  /** Tasks to kill now (terminated by a user or with their job). */
  kill: { jobId: string; taskId: string; dispatchId: string }[];
  /** Stop taking new work (scale-down with taskcompletion, or pool deletion). */
  drain: boolean;
  /** Leave now: hand back (release) or stop what is held, then exit. */
  shutdown: boolean;
  /** Milliseconds until the next heartbeat is expected. */
  nextHeartbeatMs: number;
  /**
   * The pool packs its tasks (nodeFillType 'pack') and another node comes first with a free
   * slot: leave new messages to it, taking one only once it has waited PACK_HOLD_BACK_MS.
   */
  holdBack?: boolean;
  /**
   * The pool spreads its tasks (nodeFillType 'spread') and this many other usable nodes run
   * nothing (absent when none): a node running tasks leaves one message at the front of the queue
   * to each of them for SPREAD_HOLD_BACK_MS, taking any beyond those at once, and an idle node
   * takes one at a time.
   */
  idlePeers?: number;
  /**
   * This control plane sends all of the pool's work itself, so an idle node may wait on
   * AGENT_ROUTES.workSignal to hear of new work at once, polling the queues only as a fallback.
   */
  workSignal?: boolean;
}

/**
 * Answered once the control plane's count of sends to the pool differs from `after` (at once
 * without `after`), or after `waitMs` (at most WORK_SIGNAL_MAX_WAIT_MS) with the count unchanged.
 */
export interface WorkSignalRequest {
  poolId: string;
  nodeId: string;
  after?: number;
  waitMs: number;
}

export interface WorkSignalResponse {
  count: number;
}

/** Sent (AGENT_ROUTES.workReturned) once the messages are visible, never before: a peer woken early would find nothing. */
export interface WorkReturnedReport {
  poolId: string;
  nodeId: string;
}

/** How long a node holding back (pack) leaves a message at the front of the queue to the node pack favours. */
export const PACK_HOLD_BACK_MS = 250;
/**
 * How long a node running tasks leaves a message at the front of the queue to an idle node
 * (spread): long enough for a node waiting on the work signal to take it.
 */
export const SPREAD_HOLD_BACK_MS = 50;

export interface StartTaskReport {
  poolId: string;
  nodeId: string;
  succeeded: boolean;
  exitCode: number | null;
  message?: string;
}

/** Environment variables that configure an agent process (on a VM, set by its service unit). */
export const AGENT_ENV = {
  endpoint: 'FNBATCH_ENDPOINT',
  key: 'FNBATCH_AGENT_KEY',
  poolId: 'FNBATCH_POOL_ID',
  nodeId: 'FNBATCH_NODE_ID',
  isDedicated: 'FNBATCH_NODE_IS_DEDICATED',
  taskSlots: 'FNBATCH_TASK_SLOTS',
  storage: 'FNBATCH_STORAGE',
  workDir: 'FNBATCH_WORK_DIR',
  visibilityTimeoutMs: 'FNBATCH_LEASE_MS',
  /** A folder for the node's request totals (agent/request-tally.ts), set by whoever measures the node. */
  requestCountsDir: 'FNBATCH_REQUEST_COUNTS_DIR',
} as const;
