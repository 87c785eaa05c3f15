// Azure Batch's error body and the codes fnbatch returns. Code names and HTTP statuses follow
// the "Batch Status and Error Codes" reference page (Common REST API Error Codes and Batch Service
// Error Codes tables). Codes marked "fnbatch" have no Batch equivalent because Batch cannot
// express the situation (e.g. a whole DAG submitted in one call can contain a cycle).

export interface BatchErrorValue {
  key: string;
  value: string;
}

export interface BatchErrorBody {
  code: string;
  message: { lang: 'en-US'; value: string };
  values?: BatchErrorValue[];
}

export class BatchError extends Error {
  readonly status: number;
  readonly body: BatchErrorBody;

  constructor(status: number, code: string, message: string, values?: BatchErrorValue[]) {
    super(`${code}: ${message}`);
    this.name = 'BatchError';
    this.status = status;
    this.body = { code, message: { lang: 'en-US', value: message } };
    if (values && values.length > 0) this.body.values = values;
  }

  get code(): string {
    return this.body.code;
  }

  /** The value of one entry in `values`, e.g. `valueFor('PropertyName')`. */
  valueFor(key: string): string | undefined {
    return this.body.values?.find((v) => v.key === key)?.value;
  }
}

export function isBatchError(e: unknown): e is BatchError {
  return e instanceof BatchError;
}

export const BatchErrorCodes = {
  InvalidRequestBody: 'InvalidRequestBody',
  MissingRequiredProperty: 'MissingRequiredProperty',
  InvalidPropertyValue: 'InvalidPropertyValue',
  RequestBodyTooLarge: 'RequestBodyTooLarge',
  InvalidQueryParameterValue: 'InvalidQueryParameterValue',
  ConditionNotMet: 'ConditionNotMet',
  JobExists: 'JobExists',
  TaskExists: 'TaskExists',
  JobNotFound: 'JobNotFound',
  TaskNotFound: 'TaskNotFound',
  PoolNotFound: 'PoolNotFound',
  TaskDependenciesNotSpecifiedOnJob: 'TaskDependenciesNotSpecifiedOnJob',
  TaskDependencyListTooLong: 'TaskDependencyListTooLong',
  OperationInvalidForCurrentState: 'OperationInvalidForCurrentState',
  TaskCompleted: 'TaskCompleted',
  TaskSucceeded: 'TaskSucceeded',
  JobCompleted: 'JobCompleted',
  JobNotActive: 'JobNotActive',
  JobBeingTerminated: 'JobBeingTerminated',
  JobBeingDeleted: 'JobBeingDeleted',
  /** fnbatch: the submitted tasks' dependencies form a cycle. */
  TaskDependencyCycle: 'TaskDependencyCycle',
  /** fnbatch: a task depends on a task id that neither exists nor is being added. */
  TaskDependencyNotFound: 'TaskDependencyNotFound',
  /** fnbatch: failureInfo code of a task that never ran because a task it depends on blocked it. */
  UpstreamTaskFailed: 'UpstreamTaskFailed',
} as const;

const MAX_ECHOED_VALUE_CHARS = 256;

/** Renders an offending value for the PropertyValue entry, short enough for a response body. */
export function describeValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (value === undefined) text = 'undefined';
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > MAX_ECHOED_VALUE_CHARS ? `${text.slice(0, MAX_ECHOED_VALUE_CHARS)}...` : text;
}

export function invalidRequestBody(reason: string): BatchError {
  return new BatchError(400, BatchErrorCodes.InvalidRequestBody, 'The specified Request Body is not syntactically valid.', [
    { key: 'Reason', value: reason },
  ]);
}

export function missingRequiredProperty(propertyName: string): BatchError {
  return new BatchError(
    400,
    BatchErrorCodes.MissingRequiredProperty,
    'A required property was not specified in the request body.',
    [{ key: 'PropertyName', value: propertyName }],
  );
}

export function invalidPropertyValue(propertyName: string, value: unknown, reason: string): BatchError {
  return new BatchError(
    400,
    BatchErrorCodes.InvalidPropertyValue,
    'The value provided for one of the properties in the request body is invalid.',
    [
      { key: 'PropertyName', value: propertyName },
      { key: 'PropertyValue', value: describeValue(value) },
      { key: 'Reason', value: reason },
    ],
  );
}

export function requestBodyTooLarge(reason: string): BatchError {
  return new BatchError(413, BatchErrorCodes.RequestBodyTooLarge, 'The request body is too large and exceeds the maximum permissible limit.', [
    { key: 'Reason', value: reason },
  ]);
}

export function invalidQueryParameterValue(parameterName: string, value: string, reason: string): BatchError {
  return new BatchError(
    400,
    BatchErrorCodes.InvalidQueryParameterValue,
    'Value for one of the query parameters specified in the request URI is invalid.',
    [
      { key: 'QueryParameterName', value: parameterName },
      { key: 'QueryParameterValue', value: describeValue(value) },
      { key: 'Reason', value: reason },
    ],
  );
}

export function conditionNotMet(reason: string): BatchError {
  return new BatchError(412, BatchErrorCodes.ConditionNotMet, 'The condition specified using HTTP conditional header(s) is not met.', [
    { key: 'Reason', value: reason },
  ]);
}

export function jobExists(jobId: string): BatchError {
  return new BatchError(409, BatchErrorCodes.JobExists, 'The specified job already exists.', [{ key: 'JobId', value: jobId }]);
}

export function taskExists(taskId: string, propertyName?: string): BatchError {
  const values = [{ key: 'TaskId', value: taskId }];
  if (propertyName) values.push({ key: 'PropertyName', value: propertyName });
  return new BatchError(409, BatchErrorCodes.TaskExists, 'The specified task already exists.', values);
}

export function jobNotFound(jobId: string): BatchError {
  return new BatchError(404, BatchErrorCodes.JobNotFound, 'The specified job does not exist.', [{ key: 'JobId', value: jobId }]);
}

export function taskNotFound(taskId: string): BatchError {
  return new BatchError(404, BatchErrorCodes.TaskNotFound, 'The specified task does not exist.', [{ key: 'TaskId', value: taskId }]);
}

export function poolNotFound(poolId: string, propertyName?: string): BatchError {
  const values = [{ key: 'PoolId', value: poolId }];
  if (propertyName) values.push({ key: 'PropertyName', value: propertyName });
  return new BatchError(404, BatchErrorCodes.PoolNotFound, 'The specified pool does not exist.', values);
}

export function taskDependenciesNotSpecifiedOnJob(propertyName: string): BatchError {
  return new BatchError(
    400,
    BatchErrorCodes.TaskDependenciesNotSpecifiedOnJob,
    'A task was specified as depending on other tasks, but the job did not specify that it would use task dependencies.',
    [{ key: 'PropertyName', value: propertyName }],
  );
}

export function taskDependencyListTooLong(propertyName: string): BatchError {
  return new BatchError(
    400,
    BatchErrorCodes.TaskDependencyListTooLong,
    'A task was specified as depending on other tasks, but the list of dependencies was too long to be stored.',
    [{ key: 'PropertyName', value: propertyName }],
  );
}

/** `cycle` lists task ids so that each depends on the next and the last depends on the first. */
export function taskDependencyCycle(cycle: readonly string[], propertyName?: string): BatchError {
  const path = [...cycle, cycle[0]].join(' -> ');
  const values = [{ key: 'Cycle', value: path }];
  if (propertyName) values.push({ key: 'PropertyName', value: propertyName });
  return new BatchError(
    400,
    BatchErrorCodes.TaskDependencyCycle,
    `The task dependencies form a cycle: ${path} (each task depends on the next).`,
    values,
  );
}

export function taskDependencyNotFound(taskId: string, dependencyTaskId: string, propertyName?: string, reason?: string): BatchError {
  const values = [
    { key: 'TaskId', value: taskId },
    { key: 'DependencyTaskId', value: dependencyTaskId },
  ];
  if (propertyName) values.push({ key: 'PropertyName', value: propertyName });
  if (reason) values.push({ key: 'Reason', value: reason });
  return new BatchError(
    400,
    BatchErrorCodes.TaskDependencyNotFound,
    `Task '${taskId}' depends on task '${dependencyTaskId}', which does not exist in the job and is not being added.`,
    values,
  );
}

export function operationInvalidForCurrentState(reason: string): BatchError {
  return new BatchError(409, BatchErrorCodes.OperationInvalidForCurrentState, 'The specified operation is not valid for the current state of the resource.', [
    { key: 'Reason', value: reason },
  ]);
}

/** A 409 with one of Batch's state-specific codes (TaskCompleted, JobCompleted, JobNotActive, ...). */
export function stateConflict(code: string, message: string, reason: string): BatchError {
  return new BatchError(409, code, message, [{ key: 'Reason', value: reason }]);
}
