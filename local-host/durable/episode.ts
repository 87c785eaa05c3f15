// One orchestration episode, planned the way the Durable Task Framework replays an out-of-process
// orchestrator: new events are appended to the history, the library's own orchestrator handler
// replays it and returns every action it has ever emitted, and we turn the actions it emitted for
// the first time into work. The library numbers tasks by a sequence counter and never checks the
// history's TaskScheduled events, so this module mirrors that counter exactly and is where a
// replay that does not match its history is caught.
import { plainCopy } from '../../shared/plain-copy.js';
import { replayHistory, type ReplayEvent } from './replay-history.js';
import { retryDelayMs } from './retry.js';
import {
  ActionType,
  EventType,
  actionInputText,
  actionSignature,
  consumesTaskId,
  flattenActions,
  toJsonText,
  type FailureDetails,
  type HistoryEvent,
  type OrchestratorState,
  type RawAction,
} from './history.js';
import {
  TERMINAL,
  type ActivityWork,
  type Commit,
  type InboxMessage,
  type InstanceState,
  type RetryTracker,
  type RuntimeStatus,
  type TimerWork,
} from './state.js';

export interface EpisodeEnv {
  now: number;
  allocateSeq(): number;
  newExecutionId(): string;
}

/** The binding payload the library's orchestrator handler reads. */
export interface OrchestrationInput {
  history: ReplayEvent[];
  input: unknown;
  instanceId: string;
  isReplaying: boolean;
  parentInstanceId?: string;
  upperSchemaVersion: number;
  maximumShortTimerDuration: string;
  longRunningTimerIntervalDuration: string;
  defaultHttpAsyncRequestSleepTimeMillseconds: number;
}

export type OrchestratorOutcome =
  | { kind: 'state'; state: OrchestratorState }
  | { kind: 'failed'; message: string; stack?: string; state?: OrchestratorState };

export type Plan =
  | { kind: 'idle' }
  | { kind: 'commit'; commit: Commit }
  | { kind: 'run'; input: OrchestrationInput; finish(outcome: OrchestratorOutcome): Commit };

const REPLAY_SCHEMA_V3 = 2;

export function planEpisode(instance: InstanceState, env: EpisodeEnv): Plan {
  const batch = [...instance.inbox];
  if (batch.length === 0) return { kind: 'idle' };
  const consumedAll = batch.map((m) => m.seq);

  if (TERMINAL.has(instance.status)) {
    return { kind: 'commit', commit: { update: [{ instanceId: instance.instanceId, consumed: consumedAll }] } };
  }
  const current = batch.filter((m) => !m.executionId || m.executionId === instance.executionId);
  const terminate = current.find((m) => m.control === 'terminate');
  if (terminate) return { kind: 'commit', commit: terminateCommit(instance, terminate, consumedAll, env) };

  if (instance.status === 'Suspended') {
    const resume = current.find((m) => m.control === 'resume');
    if (!resume) return { kind: 'idle' };
    return {
      kind: 'commit',
      commit: controlCommit(instance, resume, 'Running', env),
    };
  }
  const suspend = current.find((m) => m.control === 'suspend');
  if (suspend) return { kind: 'commit', commit: controlCommit(instance, suspend, 'Suspended', env) };

  const stray = batch.filter((m) => m.control === 'resume' || !current.includes(m)).map((m) => m.seq);
  const messages = current.filter((m) => !m.control);
  if (messages.length === 0) {
    return { kind: 'commit', commit: { update: [{ instanceId: instance.instanceId, consumed: stray }] } };
  }
  return runPlan(instance, messages, [...stray, ...messages.map((m) => m.seq)], env);
}

function runPlan(instance: InstanceState, messages: InboxMessage[], consumed: number[], env: EpisodeEnv): Plan {
  const { instanceId } = instance;
  const trackers: RetryTracker[] = plainCopy(instance.retries);
  const trackerFor = (phase: RetryTracker['phase'], id: number | undefined) =>
    trackers.find((t) => t.phase === phase && t.taskId === id);

  // The library hands out a task id while it processes a failed retry attempt (for the back-off
  // timer) and a fired back-off timer (for the next attempt). Putting those events first makes
  // their ids come before any id a resumed orchestrator takes, so both sides count alike.
  const assignsId = (e: HistoryEvent) => {
    if (e.EventType === EventType.TaskFailed || e.EventType === EventType.SubOrchestrationInstanceFailed) {
      return !!trackerFor('attempt', e.TaskScheduledId);
    }
    if (e.EventType === EventType.TimerFired) {
      const t = trackerFor('timer', e.TimerId);
      return !!t && t.attempt < t.options.maxNumberOfAttempts;
    }
    return false;
  };
  const events = messages.map((m) => m.event);
  const ordered = [...events.filter(assignsId), ...events.filter((e) => !assignsId(e))];

  let nextTaskId = instance.nextTaskId;
  const outputEvents: HistoryEvent[] = [];
  const work: WorkPlan = { activities: [], timers: [], children: [] };
  const stamp = new Date(env.now).toISOString();

  for (const event of ordered) {
    if (event.EventType === EventType.TaskFailed || event.EventType === EventType.SubOrchestrationInstanceFailed) {
      const t = trackerFor('attempt', event.TaskScheduledId);
      if (!t) continue;
      const timerId = nextTaskId++;
      const delay = t.attempt < t.options.maxNumberOfAttempts ? retryDelayMs(t.options, t.attempt) : 0;
      t.phase = 'timer';
      t.taskId = timerId;
      addTimer(work, instance, timerId, env.now + delay, outputEvents, stamp);
    } else if (event.EventType === EventType.TimerFired) {
      const t = trackerFor('timer', event.TimerId);
      if (!t) continue;
      if (t.attempt < t.options.maxNumberOfAttempts) {
        const taskId = nextTaskId++;
        t.attempt += 1;
        t.phase = 'attempt';
        t.taskId = taskId;
        scheduleCall(work, instance, t.kind, t.name, t.input, taskId, t.childInstanceId, outputEvents, stamp, env);
      } else {
        trackers.splice(trackers.indexOf(t), 1);
      }
    } else if (
      event.EventType === EventType.TaskCompleted ||
      event.EventType === EventType.SubOrchestrationInstanceCompleted
    ) {
      const t = trackerFor('attempt', event.TaskScheduledId);
      if (t) trackers.splice(trackers.indexOf(t), 1);
    }
  }

  const newEvents: HistoryEvent[] = [
    { EventType: EventType.OrchestratorStarted, EventId: -1, IsPlayed: false, Timestamp: stamp },
    ...ordered.map((e) => ({ ...e, IsPlayed: false })),
  ];
  const input: OrchestrationInput = {
    history: replayHistory(instance.history, newEvents),
    input: JSON.parse(instance.input),
    instanceId,
    isReplaying: instance.history.length > 0,
    parentInstanceId: instance.parent?.instanceId,
    upperSchemaVersion: REPLAY_SCHEMA_V3,
    // Local timers have no length limit, so the library never needs to split long timers.
    maximumShortTimerDuration: '36500.00:00:00',
    longRunningTimerIntervalDuration: '3.00:00:00',
    defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
  };

  const finish = (outcome: OrchestratorOutcome): Commit => {
    const state = outcome.state;
    const flat = state ? flattenActions(state) : [];
    const signatures = flat.map(actionSignature);
    const known = instance.actions;
    // A replay that threw may have stopped anywhere: its own error says more than a comparison.
    const mismatch = outcome.kind === 'state' ? findMismatch(known, signatures, true) : undefined;
    if (mismatch) {
      return failCommit(instance, consumed, newEvents, env, {
        ErrorType: 'NonDeterministicOrchestrationError',
        ErrorMessage:
          `Non-deterministic orchestrator '${instance.name}' (instance ${instanceId}): at step ${mismatch.step + 1} ` +
          `the history has ${mismatch.expected} but the replay produced ${mismatch.actual}. ` +
          'Orchestrator code must not branch on Date.now(), Math.random() or I/O; use ' +
          'context.df.currentUtcDateTime, context.df.newGuid() and activities instead.',
      });
    }
    if (outcome.kind === 'failed') {
      return failCommit(instance, consumed, newEvents, env, {
        ErrorType: 'OrchestratorFunctionError',
        ErrorMessage: `Orchestrator function '${instance.name}' failed: ${outcome.message}`,
        StackTrace: outcome.stack,
      });
    }
    const fresh = flat.slice(known.length);
    for (const action of fresh) {
      const taskId = consumesTaskId(action) ? nextTaskId++ : -1;
      const unsupported = scheduleAction(action, taskId, instance, work, trackers, outputEvents, stamp, env);
      if (unsupported) {
        return failCommit(instance, consumed, newEvents, env, {
          ErrorType: 'NotSupportedError',
          ErrorMessage: `Orchestrator function '${instance.name}' used ${unsupported}, which the local host does not support`,
        });
      }
    }
    const customStatus = state!.customStatus === undefined ? instance.customStatus : toJsonText(state!.customStatus);
    const last = flat[flat.length - 1];
    if (state!.isDone && last?.actionType === ActionType.ContinueAsNew) {
      return continueAsNewCommit(instance, consumed, last, customStatus, env);
    }
    const done = state!.isDone;
    const appended = [...newEvents, ...outputEvents, endOfEpisode(stamp)];
    const output = done ? toJsonText(state!.output) : undefined;
    if (done) {
      appended.push({
        EventType: EventType.ExecutionCompleted,
        EventId: -1,
        IsPlayed: false,
        Timestamp: stamp,
        OrchestrationStatus: 'Completed',
        Result: output,
      });
    }
    const commit: Commit = {
      update: [
        {
          instanceId,
          consumed,
          append: appended,
          appendActions: signatures.slice(known.length),
          fields: {
            status: done ? 'Completed' : 'Running',
            nextTaskId,
            retries: trackers,
            customStatus,
            lastUpdatedTime: env.now,
            ...(done ? { output } : {}),
          },
        },
      ],
      addActivities: done ? [] : work.activities,
      addTimers: done ? [] : work.timers,
      put: done ? [] : work.children,
    };
    if (done) notifyParent(commit, instance, { kind: 'completed', output: output! }, env);
    return commit;
  };
  return { kind: 'run', input, finish };
}

interface WorkPlan {
  activities: ActivityWork[];
  timers: TimerWork[];
  children: InstanceState[];
}

function findMismatch(known: string[], replayed: string[], complete: boolean) {
  const common = Math.min(known.length, replayed.length);
  for (let step = 0; step < common; step++) {
    if (known[step] !== replayed[step]) {
      return { step, expected: clip(known[step]!), actual: clip(replayed[step]!) };
    }
  }
  if (complete && replayed.length < known.length) {
    return { step: replayed.length, expected: clip(known[replayed.length]!), actual: 'no action at all' };
  }
  return undefined;
}

function clip(text: string): string {
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** Returns the name of an unsupported action kind, or undefined when the action was planned. */
function scheduleAction(
  action: RawAction,
  taskId: number,
  instance: InstanceState,
  work: WorkPlan,
  trackers: RetryTracker[],
  outputEvents: HistoryEvent[],
  stamp: string,
  env: EpisodeEnv,
): string | undefined {
  const input = actionInputText(action);
  switch (action.actionType) {
    case ActionType.CallActivity:
    case ActionType.CallActivityWithRetry:
      scheduleCall(work, instance, 'activity', action.functionName!, input, taskId, undefined, outputEvents, stamp, env);
      if (action.actionType === ActionType.CallActivityWithRetry) {
        trackers.push(tracker('activity', action, input, taskId, undefined));
      }
      return undefined;
    case ActionType.CallSubOrchestrator:
    case ActionType.CallSubOrchestratorWithRetry:
      scheduleCall(work, instance, 'subOrchestration', action.functionName!, input, taskId, action.instanceId, outputEvents, stamp, env);
      if (action.actionType === ActionType.CallSubOrchestratorWithRetry) {
        trackers.push(tracker('subOrchestration', action, input, taskId, action.instanceId));
      }
      return undefined;
    case ActionType.CreateTimer:
      if (!action.isCanceled) addTimer(work, instance, taskId, Date.parse(action.fireAt!), outputEvents, stamp);
      return undefined;
    case ActionType.WaitForExternalEvent:
    case ActionType.ContinueAsNew:
      return undefined;
    default:
      return ActionType[action.actionType] ?? `action type ${action.actionType}`;
  }
}

function tracker(kind: RetryTracker['kind'], action: RawAction, input: string, taskId: number, child?: string): RetryTracker {
  const options = action.retryOptions!;
  return {
    kind,
    name: action.functionName!,
    input,
    childInstanceId: child,
    options: { ...options, maxNumberOfAttempts: Math.max(1, options.maxNumberOfAttempts) },
    attempt: 1,
    phase: 'attempt',
    taskId,
  };
}

function scheduleCall(
  work: WorkPlan,
  instance: InstanceState,
  kind: RetryTracker['kind'],
  name: string,
  input: string,
  taskId: number,
  childInstanceId: string | undefined,
  outputEvents: HistoryEvent[],
  stamp: string,
  env: EpisodeEnv,
): void {
  const { instanceId, executionId } = instance;
  if (kind === 'activity') {
    work.activities.push({ key: `a|${instanceId}|${executionId}|${taskId}`, instanceId, executionId, taskId, name, input });
    outputEvents.push({ EventType: EventType.TaskScheduled, EventId: taskId, IsPlayed: false, Timestamp: stamp, Name: name, Input: input });
    return;
  }
  const childId = childInstanceId || `${instanceId}:${taskId}`;
  work.children.push(
    newInstance(env, {
      instanceId: childId,
      name,
      input,
      parent: { instanceId, executionId, taskId },
    }),
  );
  outputEvents.push({
    EventType: EventType.SubOrchestrationInstanceCreated,
    EventId: taskId,
    IsPlayed: false,
    Timestamp: stamp,
    Name: name,
    Input: input,
    InstanceId: childId,
  });
}

function addTimer(work: WorkPlan, instance: InstanceState, timerId: number, fireAt: number, outputEvents: HistoryEvent[], stamp: string) {
  const { instanceId, executionId } = instance;
  work.timers.push({ key: `t|${instanceId}|${executionId}|${timerId}`, instanceId, executionId, timerId, fireAt });
  outputEvents.push({
    EventType: EventType.TimerCreated,
    EventId: timerId,
    IsPlayed: false,
    Timestamp: stamp,
    FireAt: new Date(fireAt).toISOString(),
  });
}

export function newInstance(
  env: EpisodeEnv,
  init: { instanceId: string; name: string; input: string; parent?: InstanceState['parent'] },
): InstanceState {
  const executionId = env.newExecutionId();
  return {
    instanceId: init.instanceId,
    name: init.name,
    executionId,
    status: 'Pending',
    input: init.input,
    createdTime: env.now,
    lastUpdatedTime: env.now,
    parent: init.parent,
    nextTaskId: 0,
    actions: [],
    retries: [],
    history: [],
    inbox: [
      {
        seq: env.allocateSeq(),
        executionId,
        event: {
          EventType: EventType.ExecutionStarted,
          EventId: -1,
          IsPlayed: false,
          Timestamp: new Date(env.now).toISOString(),
          Name: init.name,
          Input: init.input,
        },
      },
    ],
  };
}

function endOfEpisode(stamp: string): HistoryEvent {
  return { EventType: EventType.OrchestratorCompleted, EventId: -1, IsPlayed: false, Timestamp: stamp };
}

function failCommit(
  instance: InstanceState,
  consumed: number[],
  newEvents: HistoryEvent[],
  env: EpisodeEnv,
  failure: FailureDetails,
): Commit {
  const stamp = new Date(env.now).toISOString();
  const output = toJsonText(failure.ErrorMessage);
  const commit: Commit = {
    update: [
      {
        instanceId: instance.instanceId,
        consumed,
        append: [
          ...newEvents,
          endOfEpisode(stamp),
          {
            EventType: EventType.ExecutionCompleted,
            EventId: -1,
            IsPlayed: false,
            Timestamp: stamp,
            OrchestrationStatus: 'Failed',
            Result: output,
            FailureDetails: failure,
          },
        ],
        fields: { status: 'Failed', output, failure, lastUpdatedTime: env.now, retries: [] },
      },
    ],
  };
  notifyParent(commit, instance, { kind: 'failed', failure }, env);
  return commit;
}

function terminateCommit(instance: InstanceState, message: InboxMessage, consumed: number[], env: EpisodeEnv): Commit {
  const stamp = new Date(env.now).toISOString();
  const reason = message.event.Input ?? toJsonText('');
  const commit: Commit = {
    update: [
      {
        instanceId: instance.instanceId,
        consumed,
        append: [
          { EventType: EventType.OrchestratorStarted, EventId: -1, IsPlayed: false, Timestamp: stamp },
          { ...message.event, IsPlayed: false },
          { EventType: EventType.ExecutionCompleted, EventId: -1, IsPlayed: false, Timestamp: stamp, OrchestrationStatus: 'Terminated', Result: reason },
        ],
        fields: { status: 'Terminated', output: reason, lastUpdatedTime: env.now, retries: [] },
      },
    ],
  };
  notifyParent(commit, instance, {
    kind: 'failed',
    failure: { ErrorType: 'OrchestrationTerminated', ErrorMessage: `Sub-orchestration was terminated: ${JSON.parse(reason)}` },
  }, env);
  return commit;
}

function controlCommit(instance: InstanceState, message: InboxMessage, status: RuntimeStatus, env: EpisodeEnv): Commit {
  const stamp = new Date(env.now).toISOString();
  return {
    update: [
      {
        instanceId: instance.instanceId,
        consumed: [message.seq],
        append: [
          { EventType: EventType.OrchestratorStarted, EventId: -1, IsPlayed: false, Timestamp: stamp },
          { ...message.event, IsPlayed: false },
        ],
        fields: { status, lastUpdatedTime: env.now },
      },
    ],
  };
}

function continueAsNewCommit(
  instance: InstanceState,
  consumed: number[],
  action: RawAction,
  customStatus: string | undefined,
  env: EpisodeEnv,
): Commit {
  const next = newInstance(env, {
    instanceId: instance.instanceId,
    name: instance.name,
    input: actionInputText(action),
    parent: instance.parent,
  });
  next.createdTime = instance.createdTime;
  next.status = 'Running';
  next.customStatus = customStatus;
  // Events that arrived while this episode ran are kept for the new execution.
  const consumedSet = new Set(consumed);
  for (const message of instance.inbox) {
    if (!consumedSet.has(message.seq) && message.event.EventType === EventType.EventRaised) {
      next.inbox.push({ ...message, executionId: next.executionId });
    }
  }
  return { put: [next] };
}

type ParentNotice = { kind: 'completed'; output: string } | { kind: 'failed'; failure: FailureDetails };

function notifyParent(commit: Commit, instance: InstanceState, notice: ParentNotice, env: EpisodeEnv): void {
  const parent = instance.parent;
  if (!parent) return;
  const stamp = new Date(env.now).toISOString();
  const event: HistoryEvent =
    notice.kind === 'completed'
      ? {
          EventType: EventType.SubOrchestrationInstanceCompleted,
          EventId: -1,
          IsPlayed: false,
          Timestamp: stamp,
          TaskScheduledId: parent.taskId,
          Result: notice.output,
        }
      : {
          EventType: EventType.SubOrchestrationInstanceFailed,
          EventId: -1,
          IsPlayed: false,
          Timestamp: stamp,
          TaskScheduledId: parent.taskId,
          Reason: `Sub-orchestration '${instance.name}' (instance ${instance.instanceId}) failed: ${notice.failure.ErrorMessage}`,
          Details: notice.failure.StackTrace ?? '',
          FailureDetails: notice.failure,
        };
  (commit.deliver ??= []).push({
    instanceId: parent.instanceId,
    message: { seq: env.allocateSeq(), executionId: parent.executionId, event },
  });
}

