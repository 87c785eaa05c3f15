// The names the Batch autoscale language knows, as the Azure Batch article lists them.

/** Read-only service variables: sample histories, named here without their `$`. */
export const METRIC_NAMES = [
  'CPUPercent',
  'WallClockSeconds',
  'MemoryBytes',
  'DiskBytes',
  'DiskReadBytes',
  'DiskWriteBytes',
  'DiskReadOps',
  'DiskWriteOps',
  'NetworkInBytes',
  'NetworkOutBytes',
  'SampleNodeCount',
  'ActiveTasks',
  'RunningTasks',
  'PendingTasks',
  'SucceededTasks',
  'FailedTasks',
  'CurrentDedicatedNodes',
  'CurrentLowPriorityNodes',
  'PreemptedNodeCount',
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];

const metricSet: ReadonlySet<string> = new Set(METRIC_NAMES.map((name) => `$${name}`));

/** `$CPUPercent` -> `CPUPercent`, or undefined when the name is not a metric. */
export function metricOf(variableName: string): MetricName | undefined {
  return metricSet.has(variableName) ? (variableName.slice(1) as MetricName) : undefined;
}

export const TARGET_DEDICATED = '$TargetDedicatedNodes';
export const TARGET_DEDICATED_ALIAS = '$TargetDedicated';
export const TARGET_LOW_PRIORITY = '$TargetLowPriorityNodes';
export const TARGET_LOW_PRIORITY_ALIAS = '$TargetLowPriority';
export const NODE_DEALLOCATION_OPTION = '$NodeDeallocationOption';

export const READ_WRITE_SERVICE_VARIABLES: ReadonlySet<string> = new Set([
  TARGET_DEDICATED,
  TARGET_DEDICATED_ALIAS,
  TARGET_LOW_PRIORITY,
  TARGET_LOW_PRIORITY_ALIAS,
  NODE_DEALLOCATION_OPTION,
]);

export const NODE_DEALLOCATION_OPTIONS = ['requeue', 'terminate', 'taskcompletion', 'retaineddata'] as const;
export type NodeDeallocationOption = (typeof NODE_DEALLOCATION_OPTIONS)[number];

export function isNodeDeallocationOption(text: string): text is NodeDeallocationOption {
  return (NODE_DEALLOCATION_OPTIONS as readonly string[]).includes(text);
}

const MS_PER_DAY = 86_400_000;

/** The timeinterval constants, in milliseconds (fractions allowed: 100 ns is 0.0001 ms). */
export const TIME_INTERVAL_CONSTANTS: ReadonlyMap<string, number> = new Map([
  ['TimeInterval_Zero', 0],
  ['TimeInterval_100ns', 0.0001],
  ['TimeInterval_Microsecond', 0.001],
  ['TimeInterval_Millisecond', 1],
  ['TimeInterval_Second', 1_000],
  ['TimeInterval_Minute', 60_000],
  ['TimeInterval_Hour', 3_600_000],
  ['TimeInterval_Day', MS_PER_DAY],
  ['TimeInterval_Week', 7 * MS_PER_DAY],
  ['TimeInterval_Year', 365 * MS_PER_DAY],
]);

/** Names a formula may read but never assign. */
export function isReservedName(name: string): boolean {
  return TIME_INTERVAL_CONSTANTS.has(name) || isNodeDeallocationOption(name) || metricSet.has(name);
}

/** Argument counts of the built-in functions; `max` undefined means "any number" (a doubleVecList). */
export const FUNCTION_ARITY: ReadonlyMap<string, { min: number; max?: number }> = new Map([
  ['avg', { min: 0 }],
  ['len', { min: 0 }],
  ['lg', { min: 1, max: 1 }],
  ['ln', { min: 1, max: 1 }],
  ['log', { min: 1, max: 1 }],
  ['max', { min: 0 }],
  ['min', { min: 0 }],
  ['norm', { min: 0 }],
  ['percentile', { min: 2, max: 2 }],
  ['rand', { min: 0, max: 0 }],
  ['range', { min: 0 }],
  ['std', { min: 0 }],
  ['stop', { min: 0, max: 0 }],
  ['sum', { min: 0 }],
  ['time', { min: 0, max: 1 }],
  ['val', { min: 2, max: 2 }],
]);

/** Sample methods on metrics and their argument counts. */
export const METHOD_ARITY: ReadonlyMap<string, { min: number; max: number }> = new Map([
  ['GetSample', { min: 1, max: 3 }],
  ['GetSamplePercent', { min: 1, max: 2 }],
  ['GetSamplePeriod', { min: 0, max: 0 }],
  ['Count', { min: 0, max: 0 }],
  ['HistoryBeginTime', { min: 0, max: 0 }],
]);

/** Members of a timestamp. */
export const TIMESTAMP_MEMBERS = ['year', 'month', 'day', 'weekday', 'hour', 'minute', 'second'] as const;
export type TimestampMember = (typeof TIMESTAMP_MEMBERS)[number];

export function isTimestampMember(name: string): name is TimestampMember {
  return (TIMESTAMP_MEMBERS as readonly string[]).includes(name);
}

/** Batch records metric samples every 30 seconds. */
export const SAMPLE_PERIOD_MS = 30_000;

/** Batch's limits on a formula. */
export const MAX_FORMULA_BYTES = 8 * 1024;
export const MAX_STATEMENTS = 100;
