// The Durable Task history vocabulary, with the numbering the durable-functions library reads.
// Field names are PascalCase because that is how the Durable extension serialises them.

export enum EventType {
  ExecutionStarted = 0,
  ExecutionCompleted = 1,
  ExecutionFailed = 2,
  ExecutionTerminated = 3,
  TaskScheduled = 4,
  TaskCompleted = 5,
  TaskFailed = 6,
  SubOrchestrationInstanceCreated = 7,
  SubOrchestrationInstanceCompleted = 8,
  SubOrchestrationInstanceFailed = 9,
  TimerCreated = 10,
  TimerFired = 11,
  OrchestratorStarted = 12,
  OrchestratorCompleted = 13,
  EventSent = 14,
  EventRaised = 15,
  ContinueAsNew = 16,
  GenericEvent = 17,
  HistoryState = 18,
  ExecutionSuspended = 19,
  ExecutionResumed = 20,
}

export interface FailureDetails {
  ErrorType: string;
  ErrorMessage: string;
  StackTrace?: string;
}

export interface HistoryEvent {
  EventType: EventType;
  EventId: number;
  IsPlayed: boolean;
  Timestamp: string;
  Name?: string;
  Input?: string;
  Result?: string;
  TaskScheduledId?: number;
  TimerId?: number;
  FireAt?: string;
  InstanceId?: string;
  Reason?: string;
  Details?: string;
  FailureDetails?: FailureDetails;
  OrchestrationStatus?: string;
}

export enum ActionType {
  CallActivity = 0,
  CallActivityWithRetry = 1,
  CallSubOrchestrator = 2,
  CallSubOrchestratorWithRetry = 3,
  ContinueAsNew = 4,
  CreateTimer = 5,
  WaitForExternalEvent = 6,
  CallEntity = 7,
  CallHttp = 8,
  SignalEntity = 9,
  WhenAny = 11,
  WhenAll = 12,
  LockEntities = 13,
  ReleaseEntities = 14,
}

export interface RetryOptions {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
  retryTimeoutInMilliseconds?: number;
}

/** An action as the library emits it (JSON form). Compound actions nest their children. */
export interface RawAction {
  actionType: ActionType;
  functionName?: string;
  input?: unknown;
  instanceId?: string;
  retryOptions?: RetryOptions;
  fireAt?: string;
  isCanceled?: boolean;
  externalEventName?: string;
  compoundActions?: RawAction[];
}

/** What the orchestrator handler returns (OrchestratorState). */
export interface OrchestratorState {
  isDone: boolean;
  actions: RawAction[][];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
  schemaVersion?: number;
}

/**
 * Depth-first, in the order the library assigns task ids. A task yielded again inside a
 * Task.any/Task.all (a common loop pattern) makes the library repeat its action object in the
 * compound; when the state is the library's own object (not a JSON copy) those repeats are
 * recognised by identity and kept once, as the library keeps its task id.
 */
export function flattenActions(state: OrchestratorState): RawAction[] {
  const flat: RawAction[] = [];
  const seen = new Set<RawAction>();
  const visit = (action: RawAction) => {
    if (action.actionType === ActionType.WhenAll || action.actionType === ActionType.WhenAny) {
      for (const child of action.compoundActions ?? []) visit(child);
    } else if (!seen.has(action)) {
      seen.add(action);
      flat.push(action);
    }
  };
  for (const group of state.actions ?? []) for (const action of group ?? []) visit(action);
  return flat;
}

/** Actions that take the next sequence number (task id) in the library. */
export function consumesTaskId(action: RawAction): boolean {
  switch (action.actionType) {
    case ActionType.CallActivity:
    case ActionType.CallActivityWithRetry:
    case ActionType.CallSubOrchestrator:
    case ActionType.CallSubOrchestratorWithRetry:
    case ActionType.CreateTimer:
    case ActionType.CallEntity:
    case ActionType.CallHttp:
    case ActionType.SignalEntity:
      return true;
    default:
      return false;
  }
}

/** A stable description of an action, compared across replays to catch non-determinism. */
export function actionSignature(action: RawAction): string {
  switch (action.actionType) {
    case ActionType.CallActivity:
    case ActionType.CallActivityWithRetry:
      return `${ActionType[action.actionType]} '${action.functionName}' input=${stableJson(action.input)}`;
    case ActionType.CallSubOrchestrator:
    case ActionType.CallSubOrchestratorWithRetry:
      return `${ActionType[action.actionType]} '${action.functionName}' input=${stableJson(action.input)}${
        action.instanceId ? ` instanceId=${action.instanceId}` : ''
      }`;
    case ActionType.CreateTimer:
      return `CreateTimer fireAt=${new Date(action.fireAt ?? 0).toISOString()}`;
    case ActionType.WaitForExternalEvent:
      return `WaitForExternalEvent '${action.externalEventName}'`;
    case ActionType.ContinueAsNew:
      return `ContinueAsNew input=${stableJson(action.input)}`;
    default:
      return ActionType[action.actionType] ?? `Action#${action.actionType}`;
  }
}

function stableJson(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? 'undefined' : text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

export function toJsonText(value: unknown): string {
  return JSON.stringify(value === undefined ? null : value);
}

/**
 * The JSON text of an action's input. The library pre-encodes string inputs of activities and
 * continueAsNew (its processInput), so there a string already is JSON text; sub-orchestration
 * inputs are passed raw.
 */
export function actionInputText(action: RawAction): string {
  const preEncoded =
    action.actionType === ActionType.CallActivity ||
    action.actionType === ActionType.CallActivityWithRetry ||
    action.actionType === ActionType.ContinueAsNew;
  return preEncoded && typeof action.input === 'string' ? action.input : toJsonText(action.input);
}
