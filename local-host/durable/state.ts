// The Durable backend's state, changed only by Commits. A Commit is applied to memory and written
// to the journal as one line, so after a crash the state is rebuilt by applying the journal again:
// orchestration state can never go back or fork, and work in flight is simply offered again.
import { plainCopy } from '../../shared/plain-copy.js';
import type { FailureDetails, HistoryEvent, RetryOptions } from './history.js';

export type RuntimeStatus = 'Pending' | 'Running' | 'Completed' | 'ContinuedAsNew' | 'Failed' | 'Terminated' | 'Suspended';

export const TERMINAL: ReadonlySet<RuntimeStatus> = new Set(['Completed', 'Failed', 'Terminated']);

export type Control = 'terminate' | 'suspend' | 'resume';

export interface InboxMessage {
  seq: number;
  /** Messages for a past execution (before continueAsNew or a restart) are dropped. */
  executionId?: string;
  event: HistoryEvent;
  control?: Control;
}

/** An activity or sub-orchestration call with retry options, tracked as the library tracks it. */
export interface RetryTracker {
  kind: 'activity' | 'subOrchestration';
  name: string;
  input: string;
  childInstanceId?: string;
  options: RetryOptions;
  /** Attempts started so far. */
  attempt: number;
  /** 'attempt': taskId is the running attempt; 'timer': taskId is the back-off timer. */
  phase: 'attempt' | 'timer';
  taskId: number;
}

export interface InstanceFields {
  name: string;
  executionId: string;
  status: RuntimeStatus;
  input: string;
  output?: string;
  customStatus?: string;
  failure?: FailureDetails;
  createdTime: number;
  lastUpdatedTime: number;
  parent?: { instanceId: string; executionId: string; taskId: number };
  /** The library's next sequence number after the committed history. */
  nextTaskId: number;
  /** Signatures of every action the orchestrator has emitted, in order. */
  actions: string[];
  retries: RetryTracker[];
}

export interface InstanceState extends InstanceFields {
  instanceId: string;
  history: HistoryEvent[];
  inbox: InboxMessage[];
}

export interface ActivityWork {
  key: string;
  instanceId: string;
  executionId: string;
  taskId: number;
  name: string;
  input: string;
}

export interface TimerWork {
  key: string;
  instanceId: string;
  executionId: string;
  timerId: number;
  fireAt: number;
}

export interface InstanceUpdate {
  instanceId: string;
  consumed?: number[];
  append?: HistoryEvent[];
  /** Signatures of actions first emitted in this episode. */
  appendActions?: string[];
  fields?: Partial<InstanceFields>;
}

export interface Commit {
  n?: number;
  nextSeq?: number;
  purge?: string[];
  put?: InstanceState[];
  update?: InstanceUpdate[];
  deliver?: { instanceId: string; message: InboxMessage }[];
  addActivities?: ActivityWork[];
  removeActivities?: string[];
  addTimers?: TimerWork[];
  removeTimers?: string[];
}

export interface BackendState {
  lastN: number;
  nextSeq: number;
  instances: Map<string, InstanceState>;
  activities: Map<string, ActivityWork>;
  timers: Map<string, TimerWork>;
}

export function emptyState(): BackendState {
  return { lastN: 0, nextSeq: 1, instances: new Map(), activities: new Map(), timers: new Map() };
}

/** Whether a delivered message can still matter to its instance. */
export function accepts(instance: InstanceState, message: InboxMessage): boolean {
  if (message.executionId && message.executionId !== instance.executionId) return false;
  if (TERMINAL.has(instance.status)) return false;
  return true;
}

/** The one place state changes; used live and when replaying the journal. */
export function applyCommit(state: BackendState, commit: Commit): void {
  if (commit.n !== undefined) state.lastN = Math.max(state.lastN, commit.n);
  if (commit.nextSeq !== undefined) state.nextSeq = Math.max(state.nextSeq, commit.nextSeq);
  for (const id of commit.purge ?? []) state.instances.delete(id);
  for (const instance of commit.put ?? []) state.instances.set(instance.instanceId, plainCopy(instance));
  for (const update of commit.update ?? []) {
    const instance = state.instances.get(update.instanceId);
    if (!instance) continue;
    if (update.consumed?.length) {
      const consumed = new Set(update.consumed);
      instance.inbox = instance.inbox.filter((m) => !consumed.has(m.seq));
    }
    if (update.append?.length) for (const event of update.append) instance.history.push({ ...event, IsPlayed: true });
    if (update.appendActions?.length) instance.actions.push(...update.appendActions);
    if (update.fields) Object.assign(instance, update.fields);
  }
  for (const { instanceId, message } of commit.deliver ?? []) {
    const instance = state.instances.get(instanceId);
    if (instance && accepts(instance, message)) instance.inbox.push(message);
  }
  for (const key of commit.removeActivities ?? []) state.activities.delete(key);
  for (const work of commit.addActivities ?? []) state.activities.set(work.key, work);
  for (const key of commit.removeTimers ?? []) state.timers.delete(key);
  for (const work of commit.addTimers ?? []) state.timers.set(work.key, work);
}
