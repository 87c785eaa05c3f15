// Validation of job submissions, single tasks and task collections.
//
// Decisions:
// - Unknown properties are ignored (not echoed back), as Batch does.
// - Whole-set validation (a job with `tasks`, validateTaskCollection) is all-or-nothing: it
//   returns every task validated or throws the error of the first task (in body order) that is
//   itself wrong; tasks that fail only because of another task are not the error reported.
// - Duplicate task ids (case-insensitive), within the request or with existing tasks: TaskExists
//   (409) on the later occurrence.
// - Dependencies: each dependsOn.taskIds entry must name an existing task or one in the same
//   request (TaskDependencyNotFound otherwise); ranges may select nothing (see dag.ts).
// - validateTaskCollectionPerTask (addtaskcollection's per-task results): a task that is wrong
//   fails alone with clienterror. A task whose dependsOn.taskIds names a task of the same request
//   that was rejected is rejected too (clienterror, TaskDependencyNotFound, Reason saying so),
//   transitively; accepting it would leave it waiting on a task that will never exist. A range
//   simply does not select rejected tasks. Every task on a dependency cycle is rejected with
//   TaskDependencyCycle. Problems with the request as a whole (not an object, > 100 tasks,
//   > 1 MB) throw.

import { BatchError, isBatchError, poolNotFound, requestBodyTooLarge, taskDependencyCycle, taskDependencyNotFound, taskExists, type BatchErrorBody } from './errors.js';
import { cyclicComponents, findCycle, IntegerIdIndex } from './graph.js';
import { CaseInsensitiveIdSet, idKey, integerTaskIdValue, isValidBatchId, NO_EXISTING_TASKS, type ExistingTaskIds } from './ids.js';
import { indexPath, isJsonObject, optionalArray, optionalBoolean, optionalEnum, optionalInteger, optionalObject, propertyPath, requiredObject } from './json-reader.js';
import { invalidPropertyValue, missingRequiredProperty } from './errors.js';
import { JOB_DEFAULTS, LIMITS, ON_ALL_TASKS_COMPLETE, ON_TASK_FAILURE, type JobSpec, type TaskSpec } from './model.js';
import { runToEnd } from './steps.js';
import {
  asBodyObject,
  parseBatchId,
  parseDisplayName,
  parseDurationProperty,
  parseEnvironmentSettings,
  parseNameValuePairs,
  parseRetryCount,
  parseTaskSpec,
  type JobForTasks,
} from './validate-task.js';

export type { JobForTasks } from './validate-task.js';

export interface JobValidationContext {
  /** When given, poolInfo.poolId must be one of these (case-insensitive), else PoolNotFound. */
  knownPoolIds?: Iterable<string>;
}

export interface ValidatedJobSubmission {
  job: JobSpec;
  /** The tasks of the `tasks` extension, in body order (empty when absent). */
  tasks: TaskSpec[];
}

export function validateJobSubmission(body: unknown, ctx: JobValidationContext = {}): ValidatedJobSubmission {
  return runToEnd(validateJobSubmissionInSteps(body, ctx));
}

/**
 * Validation of a job's tasks pauses (yields) after each this many tasks of a phase: a caller
 * driving it can let other work run meanwhile, since 100,000 tasks take a few hundred ms. Fewer
 * tasks never pause, so small jobs (the simulator's) run straight through whatever the clock.
 */
export const VALIDATION_STEP = 1_000;

/** validateJobSubmission in steps: the same checks and result, yielding between steps. */
export function* validateJobSubmissionInSteps(body: unknown, ctx: JobValidationContext = {}): Generator<void, ValidatedJobSubmission> {
  const obj = asBodyObject(body, '', 'a job');
  const id = parseBatchId(obj, 'id', '');
  const displayName = parseDisplayName(obj, '');

  const poolInfo = requiredObject(obj, 'poolInfo', '');
  const poolId = parseBatchId(poolInfo, 'poolId', 'poolInfo');
  if (ctx.knownPoolIds !== undefined && !new CaseInsensitiveIdSet(ctx.knownPoolIds).has(poolId)) {
    throw poolNotFound(poolId, 'poolInfo.poolId');
  }

  const priority = optionalInteger(obj, 'priority', '', JOB_DEFAULTS.priority, { min: LIMITS.minPriority, max: LIMITS.maxPriority });
  const constraintsObj = optionalObject(obj, 'constraints', '') ?? {};
  const constraints = {
    maxWallClockTime: parseDurationProperty(constraintsObj, 'maxWallClockTime', 'constraints', JOB_DEFAULTS.maxWallClockTime),
    maxTaskRetryCount: parseRetryCount(constraintsObj, 'constraints', JOB_DEFAULTS.maxTaskRetryCount),
  };
  const usesTaskDependencies = optionalBoolean(obj, 'usesTaskDependencies', '', JOB_DEFAULTS.usesTaskDependencies);
  const onAllTasksComplete = optionalEnum(obj, 'onAllTasksComplete', '', ON_ALL_TASKS_COMPLETE) ?? JOB_DEFAULTS.onAllTasksComplete;
  const onTaskFailure = optionalEnum(obj, 'onTaskFailure', '', ON_TASK_FAILURE) ?? JOB_DEFAULTS.onTaskFailure;
  const commonEnvironmentSettings = parseEnvironmentSettings(obj, 'commonEnvironmentSettings', '');
  const maxParallelTasks = optionalInteger(obj, 'maxParallelTasks', '', JOB_DEFAULTS.maxParallelTasks, { min: -1 });
  if (maxParallelTasks === 0) throw invalidPropertyValue('maxParallelTasks', 0, 'must be -1 (unlimited) or at least 1');
  const metadata = parseNameValuePairs(obj, 'metadata', '');

  const job: JobSpec = {
    id,
    poolInfo: { poolId },
    priority,
    constraints,
    usesTaskDependencies,
    onAllTasksComplete,
    onTaskFailure,
    commonEnvironmentSettings,
    maxParallelTasks,
    metadata,
  };
  if (displayName !== undefined) job.displayName = displayName;

  const rawTasks = optionalArray(obj, 'tasks', '');
  if (rawTasks.length > LIMITS.maxTasksPerJobSubmission) {
    throw requestBodyTooLarge(`a job submission may carry at most ${LIMITS.maxTasksPerJobSubmission} tasks; it has ${rawTasks.length}`);
  }
  const tasks = allOrNothing(yield* validateTaskBatch(rawTasks, job, NO_EXISTING_TASKS, (index) => indexPath('tasks', index)));
  return { job, tasks };
}

/** A single task (Add Task). With `existingTaskIds`, also checks TaskExists and that dependencies exist. */
export function validateTask(body: unknown, job: JobForTasks, existingTaskIds?: ExistingTaskIds): TaskSpec {
  if (existingTaskIds === undefined) return parseTaskSpec(body, job, '');
  const [only] = allOrNothing(runToEnd(validateTaskBatch([body], job, existingTaskIds, () => '')));
  return only!;
}

/** addtaskcollection, all-or-nothing. `bodyBytes` is the byte length of the raw request body. */
export function validateTaskCollection(body: unknown, job: JobForTasks, existingTaskIds: ExistingTaskIds, bodyBytes: number): TaskSpec[] {
  const rawTasks = collectionItems(body, bodyBytes);
  return allOrNothing(runToEnd(validateTaskBatch(rawTasks, job, existingTaskIds, (index) => indexPath('value', index))));
}

/** One entry of addtaskcollection's response `value`; eTag is added by whoever stores the task. */
export interface TaskAddResult {
  status: 'success' | 'clienterror' | 'servererror';
  taskId: string;
  eTag?: string;
  error?: BatchErrorBody;
}

export interface PerTaskValidation {
  /** One per submitted task, in body order. */
  results: TaskAddResult[];
  /** The tasks that passed, in body order. */
  accepted: TaskSpec[];
}

/** addtaskcollection with Batch's per-task results; errors name properties relative to the task. */
export function validateTaskCollectionPerTask(body: unknown, job: JobForTasks, existingTaskIds: ExistingTaskIds, bodyBytes: number): PerTaskValidation {
  const rawTasks = collectionItems(body, bodyBytes);
  const outcomes = runToEnd(validateTaskBatch(rawTasks, job, existingTaskIds, () => ''));
  const results: TaskAddResult[] = [];
  const accepted: TaskSpec[] = [];
  for (const outcome of outcomes) {
    if (outcome.ok) {
      results.push({ status: 'success', taskId: outcome.task.id });
      accepted.push(outcome.task);
    } else {
      results.push({ status: 'clienterror', taskId: outcome.taskId, error: outcome.error.body });
    }
  }
  return { results, accepted };
}

function collectionItems(body: unknown, bodyBytes: number): unknown[] {
  if (bodyBytes > LIMITS.maxCollectionBodyBytes) {
    throw requestBodyTooLarge(`the request body is ${bodyBytes} bytes; at most ${LIMITS.maxCollectionBodyBytes} bytes are allowed`);
  }
  const obj = asBodyObject(body, '', 'a task collection');
  if (obj['value'] === undefined || obj['value'] === null) throw missingRequiredProperty('value');
  const items = optionalArray(obj, 'value', '');
  if (items.length > LIMITS.maxTasksPerCollection) {
    throw requestBodyTooLarge(`at most ${LIMITS.maxTasksPerCollection} tasks may be added in one call; the request has ${items.length}`);
  }
  return items;
}

type TaskOutcome =
  | { ok: true; task: TaskSpec }
  | { ok: false; taskId: string; error: BatchError; /** false when it failed only because of another task */ own: boolean };

function allOrNothing(outcomes: readonly TaskOutcome[]): TaskSpec[] {
  const firstOwn = outcomes.find((outcome) => !outcome.ok && outcome.own);
  if (firstOwn && !firstOwn.ok) throw firstOwn.error;
  const firstAny = outcomes.find((outcome) => !outcome.ok);
  if (firstAny && !firstAny.ok) throw firstAny.error;
  return outcomes.map((outcome) => (outcome as { task: TaskSpec }).task);
}

function rawTaskId(raw: unknown): string {
  return isJsonObject(raw) && typeof raw['id'] === 'string' ? raw['id'] : '';
}

const NO_DEPS: readonly number[] = Object.freeze([]);

/**
 * Validates tasks submitted together, each alone and then against each other and the job's
 * existing tasks, yielding every VALIDATION_STEP tasks of its longest phases.
 */
function* validateTaskBatch(
  rawTasks: readonly unknown[],
  job: JobForTasks,
  existing: ExistingTaskIds,
  pathOf: (index: number) => string,
): Generator<void, TaskOutcome[]> {
  const outcomes: TaskOutcome[] = new Array(rawTasks.length);
  for (let index = 0; index < rawTasks.length; index++) {
    if (index % VALIDATION_STEP === VALIDATION_STEP - 1) yield;
    const raw = rawTasks[index];
    try {
      outcomes[index] = { ok: true, task: parseTaskSpec(raw, job, pathOf(index)) };
    } catch (error) {
      if (!isBatchError(error)) throw error;
      outcomes[index] = { ok: false, taskId: rawTaskId(raw), error, own: true };
    }
  }
  if (rawTasks.length >= VALIDATION_STEP) yield;
  const count = outcomes.length;
  const fail = (index: number, error: BatchError, own: boolean): void => {
    const outcome = outcomes[index]!;
    outcomes[index] = { ok: false, taskId: outcome.ok ? outcome.task.id : outcome.taskId, error, own };
  };

  // Which task of this request an id refers to: the accepted one, else the first rejected one.
  const acceptedByKey = new Map<string, number>();
  outcomes.forEach((outcome, index) => {
    if (!outcome.ok) return;
    const key = idKey(outcome.task.id);
    if (existing.has(outcome.task.id) || acceptedByKey.has(key)) fail(index, taskExists(outcome.task.id, propertyPath(pathOf(index), 'id')), true);
    else acceptedByKey.set(key, index);
  });
  const rejectedByKey = new Map<string, number>();
  outcomes.forEach((outcome, index) => {
    if (outcome.ok || !isValidBatchId(outcome.taskId)) return;
    const key = idKey(outcome.taskId);
    if (!acceptedByKey.has(key) && !rejectedByKey.has(key)) rejectedByKey.set(key, index);
  });

  const integerIds = new IntegerIdIndex();
  for (const index of acceptedByKey.values()) {
    const value = integerTaskIdValue((outcomes[index] as { task: TaskSpec }).task.id);
    if (value !== undefined) integerIds.add(value, index);
  }

  // Edges within the request. Explicit ones carry the position, for precise error paths. A task
  // with none has no list at all: a large job's validation would otherwise allocate several
  // empty arrays per task.
  const explicitDeps: Array<Array<{ target: number; position: number }> | undefined> = new Array(count);
  const rangeDeps: Array<number[] | undefined> = new Array(count);
  const explicitDependents: Array<Array<{ dependent: number; position: number }> | undefined> = new Array(count);
  edges: for (let index = 0; index < count; index++) {
    if (index % VALIDATION_STEP === VALIDATION_STEP - 1) yield;
    const outcome = outcomes[index]!;
    if (!outcome.ok || !outcome.task.dependsOn) continue;
    const { task } = outcome;
    const { taskIds, taskIdRanges } = task.dependsOn!;
    for (let position = 0; position < taskIds.length; position++) {
      const dependencyId = taskIds[position]!;
      if (existing.has(dependencyId)) continue;
      const key = idKey(dependencyId);
      const target = acceptedByKey.get(key) ?? rejectedByKey.get(key);
      if (target === undefined) {
        fail(index, taskDependencyNotFound(task.id, dependencyId, `${propertyPath(pathOf(index), 'dependsOn.taskIds')}[${position}]`), true);
        continue edges;
      }
      (explicitDeps[index] ??= []).push({ target, position });
      (explicitDependents[target] ??= []).push({ dependent: index, position });
    }
    for (const range of taskIdRanges) {
      for (const { nodes } of integerIds.valuesInRange(range.start, range.end)) (rangeDeps[index] ??= []).push(...nodes);
    }
  }
  if (count >= VALIDATION_STEP) yield;

  const propagateRejections = (): void => {
    const worklist = outcomes.flatMap((outcome, index) => (outcome.ok ? [] : [index]));
    while (worklist.length > 0) {
      const rejected = worklist.pop()!;
      const rejectedId = (outcomes[rejected] as { taskId: string }).taskId;
      for (const { dependent, position } of explicitDependents[rejected] ?? []) {
        const outcome = outcomes[dependent]!;
        if (!outcome.ok) continue;
        fail(
          dependent,
          taskDependencyNotFound(
            outcome.task.id,
            rejectedId,
            `${propertyPath(pathOf(dependent), 'dependsOn.taskIds')}[${position}]`,
            `task '${rejectedId}' was rejected in this request`,
          ),
          false,
        );
        worklist.push(dependent);
      }
    }
  };
  propagateRejections();

  const alive = (index: number): boolean => outcomes[index]!.ok;
  const aliveDeps = (index: number): readonly number[] => {
    const explicit = explicitDeps[index];
    const ranged = rangeDeps[index];
    if (!alive(index) || (!explicit && !ranged)) return NO_DEPS;
    const deps: number[] = [];
    for (const edge of explicit ?? []) if (alive(edge.target)) deps.push(edge.target);
    for (const target of ranged ?? []) if (alive(target)) deps.push(target);
    return deps;
  };
  const depsCache = Array.from({ length: count }, (_, index) => aliveDeps(index));
  if (count >= VALIDATION_STEP) yield;
  const components = cyclicComponents(count, (index) => depsCache[index]!);
  for (const component of components) {
    const members = new Set(component);
    // Start from the member earliest in the body, so the message reads in the user's order.
    const earliest = component.reduce((a, b) => Math.min(a, b));
    const cycle = findCycle(count, (index) => depsCache[index]!.filter((dep) => members.has(dep)), [earliest])!;
    const cycleIds = cycle.map((index) => (outcomes[index] as { task: TaskSpec }).task.id);
    for (const index of component) fail(index, taskDependencyCycle(cycleIds, propertyPath(pathOf(index), 'dependsOn')), true);
  }
  if (components.length > 0) propagateRejections();
  return outcomes;
}

