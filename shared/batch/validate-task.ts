// Validation of one task body in isolation (shape, ranges, enums, ids, durations), producing a
// TaskSpec with Batch's defaults. Rules that involve other tasks (duplicates, dependencies that
// must exist, cycles) live in validate.ts.

import { normalizeDuration, parseDuration } from './duration.js';
import {
  invalidPropertyValue,
  invalidRequestBody,
  taskDependenciesNotSpecifiedOnJob,
  taskDependencyListTooLong,
} from './errors.js';
import { batchIdProblem } from './ids.js';
import {
  asObject,
  checkString,
  isJsonObject,
  indexPath,
  optionalArray,
  optionalEnum,
  optionalInteger,
  optionalObject,
  optionalString,
  propertyPath,
  requiredInteger,
  requiredObject,
  requiredString,
  type JsonObject,
} from './json-reader.js';
import {
  DEPENDENCY_ACTIONS,
  JOB_ACTIONS,
  LIMITS,
  TASK_DEFAULTS,
  type EnvironmentSetting,
  type ExitConditions,
  type ExitOptions,
  type JobSpec,
  type NameValuePair,
  type TaskDependencies,
  type TaskSpec,
} from './model.js';

/** What task validation needs to know about the job the task is added to. */
export type JobForTasks = Pick<JobSpec, 'usesTaskDependencies' | 'onTaskFailure'> & {
  constraints: Pick<JobSpec['constraints'], 'maxTaskRetryCount'>;
};

/** The root of a request body must be an object; anywhere deeper a precise path is reported. */
export function asBodyObject(body: unknown, path: string, what: string): JsonObject {
  if (path === '') {
    if (!isJsonObject(body)) throw invalidRequestBody(`the request body must be a JSON object describing ${what}`);
    return body;
  }
  return asObject(body, path);
}

export function parseBatchId(obj: JsonObject, key: string, parent: string): string {
  const id = requiredString(obj, key, parent);
  const problem = batchIdProblem(id);
  if (problem) throw invalidPropertyValue(propertyPath(parent, key), id, problem);
  return id;
}

export function parseDisplayName(obj: JsonObject, parent: string): string | undefined {
  return optionalString(obj, 'displayName', parent, { maxLength: LIMITS.maxDisplayNameLength });
}

export function parseDurationProperty(obj: JsonObject, key: string, parent: string, fallback: string): string {
  const value = obj[key];
  if (value === undefined || value === null) return fallback;
  const parsed = parseDuration(value);
  if (!parsed.ok) throw invalidPropertyValue(propertyPath(parent, key), value, parsed.reason);
  return normalizeDuration(value as string);
}

export function parseRetryCount(obj: JsonObject, parent: string, fallback: number): number {
  return optionalInteger(obj, 'maxTaskRetryCount', parent, fallback, { min: -1 });
}

/** Environment settings; a name may appear once (compared exactly, as Linux does). */
export function parseEnvironmentSettings(obj: JsonObject, key: string, parent: string): EnvironmentSetting[] {
  const listPath = propertyPath(parent, key);
  const seen = new Set<string>();
  return optionalArray(obj, key, parent).map((raw, index) => {
    const path = indexPath(listPath, index);
    const entry = asObject(raw, path);
    const name = requiredString(entry, 'name', path, { nonEmpty: true });
    if (name.includes('=')) throw invalidPropertyValue(propertyPath(path, 'name'), name, "must not contain '='");
    if (seen.has(name)) throw invalidPropertyValue(propertyPath(path, 'name'), name, `duplicate environment variable name '${name}'`);
    seen.add(name);
    const value = optionalString(entry, 'value', path);
    return value === undefined ? { name } : { name, value };
  });
}

export function parseNameValuePairs(obj: JsonObject, key: string, parent: string): NameValuePair[] {
  const listPath = propertyPath(parent, key);
  return optionalArray(obj, key, parent).map((raw, index) => {
    const path = indexPath(listPath, index);
    const entry = asObject(raw, path);
    return { name: requiredString(entry, 'name', path, { nonEmpty: true }), value: requiredString(entry, 'value', path) };
  });
}

function parseDependsOn(task: JsonObject, path: string, job: JobForTasks): TaskDependencies | undefined {
  const dependsOn = optionalObject(task, 'dependsOn', path);
  if (dependsOn === undefined) return undefined;
  const dependsOnPath = propertyPath(path, 'dependsOn');
  // Batch: "If the Job does not have usesTaskDependencies set to true, and this element is present,
  // the request fails with error code TaskDependenciesNotSpecifiedOnJob."
  if (!job.usesTaskDependencies) throw taskDependenciesNotSpecifiedOnJob(dependsOnPath);

  const idsPath = propertyPath(dependsOnPath, 'taskIds');
  let idChars = 0;
  const taskIds = optionalArray(dependsOn, 'taskIds', dependsOnPath).map((raw, index) => {
    const itemPath = indexPath(idsPath, index);
    const id = checkString(raw, itemPath);
    const problem = batchIdProblem(id);
    if (problem) throw invalidPropertyValue(itemPath, id, problem);
    idChars += id.length;
    return id;
  });
  if (idChars > LIMITS.maxDependencyIdChars) throw taskDependencyListTooLong(idsPath);

  const rangesPath = propertyPath(dependsOnPath, 'taskIdRanges');
  const taskIdRanges = optionalArray(dependsOn, 'taskIdRanges', dependsOnPath).map((raw, index) => {
    const itemPath = indexPath(rangesPath, index);
    const range = asObject(raw, itemPath);
    const start = requiredInteger(range, 'start', itemPath);
    const end = requiredInteger(range, 'end', itemPath);
    if (start > end) throw invalidPropertyValue(itemPath, range, `start (${start}) must not be greater than end (${end})`);
    return { start, end };
  });
  return { taskIds, taskIdRanges };
}

function parseExitOptions(raw: unknown, path: string, job: JobForTasks): ExitOptions {
  const obj = asObject(raw, path);
  const options: ExitOptions = {};
  const jobAction = optionalEnum(obj, 'jobAction', path, JOB_ACTIONS);
  if (jobAction !== undefined) {
    // Batch rejects a jobAction the job would never act on.
    if (job.onTaskFailure !== 'performexitoptionsjobaction') {
      throw invalidPropertyValue(propertyPath(path, 'jobAction'), obj['jobAction'], "may only be set when the job's onTaskFailure is performexitoptionsjobaction");
    }
    options.jobAction = jobAction;
  }
  const dependencyAction = optionalEnum(obj, 'dependencyAction', path, DEPENDENCY_ACTIONS);
  if (dependencyAction !== undefined) {
    if (!job.usesTaskDependencies) {
      throw invalidPropertyValue(propertyPath(path, 'dependencyAction'), obj['dependencyAction'], 'may only be set when the job has usesTaskDependencies set to true');
    }
    options.dependencyAction = dependencyAction;
  }
  return options;
}

function parseExitConditions(task: JsonObject, path: string, job: JobForTasks): ExitConditions | undefined {
  const conditions = optionalObject(task, 'exitConditions', path);
  if (conditions === undefined) return undefined;
  const conditionsPath = propertyPath(path, 'exitConditions');

  const codesPath = propertyPath(conditionsPath, 'exitCodes');
  const exitCodes = optionalArray(conditions, 'exitCodes', conditionsPath).map((raw, index) => {
    const itemPath = indexPath(codesPath, index);
    const entry = asObject(raw, itemPath);
    const code = requiredInteger(entry, 'code', itemPath);
    const exitOptions = parseExitOptions(requiredObject(entry, 'exitOptions', itemPath), propertyPath(itemPath, 'exitOptions'), job);
    return { code, exitOptions };
  });

  const rangesPath = propertyPath(conditionsPath, 'exitCodeRanges');
  const exitCodeRanges = optionalArray(conditions, 'exitCodeRanges', conditionsPath).map((raw, index) => {
    const itemPath = indexPath(rangesPath, index);
    const entry = asObject(raw, itemPath);
    const start = requiredInteger(entry, 'start', itemPath);
    const end = requiredInteger(entry, 'end', itemPath);
    if (start > end) throw invalidPropertyValue(itemPath, { start, end }, `start (${start}) must not be greater than end (${end})`);
    const exitOptions = parseExitOptions(requiredObject(entry, 'exitOptions', itemPath), propertyPath(itemPath, 'exitOptions'), job);
    return { start, end, exitOptions };
  });

  const result: ExitConditions = { exitCodes, exitCodeRanges };
  const preProcessingError = optionalObject(conditions, 'preProcessingError', conditionsPath);
  if (preProcessingError) result.preProcessingError = parseExitOptions(preProcessingError, propertyPath(conditionsPath, 'preProcessingError'), job);
  const fallback = optionalObject(conditions, 'default', conditionsPath);
  if (fallback) result.default = parseExitOptions(fallback, propertyPath(conditionsPath, 'default'), job);
  return result;
}

/**
 * One task body, validated alone. `path` prefixes property names in errors ("" for a request
 * whose body is the task itself). Unknown properties are ignored, as Batch does.
 */
export function parseTaskSpec(body: unknown, job: JobForTasks, path: string): TaskSpec {
  const task = asBodyObject(body, path, 'a task');
  const id = parseBatchId(task, 'id', path);
  const displayName = parseDisplayName(task, path);
  const commandLine = requiredString(task, 'commandLine', path, { nonEmpty: true });
  const environmentSettings = parseEnvironmentSettings(task, 'environmentSettings', path);
  const dependsOn = parseDependsOn(task, path, job);

  const constraintsObj = optionalObject(task, 'constraints', path) ?? {};
  const constraintsPath = propertyPath(path, 'constraints');
  const constraints = {
    maxWallClockTime: parseDurationProperty(constraintsObj, 'maxWallClockTime', constraintsPath, TASK_DEFAULTS.maxWallClockTime),
    // fnbatch decision: a task without its own retry count inherits the job's.
    maxTaskRetryCount: parseRetryCount(constraintsObj, constraintsPath, job.constraints.maxTaskRetryCount),
    retentionTime: parseDurationProperty(constraintsObj, 'retentionTime', constraintsPath, TASK_DEFAULTS.retentionTime),
  };
  const exitConditions = parseExitConditions(task, path, job);
  const requiredSlots = optionalInteger(task, 'requiredSlots', path, TASK_DEFAULTS.requiredSlots, { min: 1 });

  const spec: TaskSpec = { id, commandLine, environmentSettings, constraints, requiredSlots };
  if (displayName !== undefined) spec.displayName = displayName;
  if (dependsOn !== undefined) spec.dependsOn = dependsOn;
  if (exitConditions !== undefined) spec.exitConditions = exitConditions;
  return spec;
}

