/**
 * A value of the formula language. Timestamps are milliseconds since the Unix epoch (UTC);
 * timeintervals are milliseconds, fractional where they are finer than a millisecond.
 */
export type Value =
  | { type: 'double'; value: number }
  | { type: 'doubleVec'; value: readonly number[] }
  | { type: 'string'; value: string }
  | { type: 'timestamp'; value: number }
  | { type: 'timeinterval'; value: number };

export type ValueType = Value['type'];

export const double = (value: number): Value => ({ type: 'double', value });
export const doubleVec = (value: readonly number[]): Value => ({ type: 'doubleVec', value });
export const string = (value: string): Value => ({ type: 'string', value });
export const timestamp = (value: number): Value => ({ type: 'timestamp', value });
export const timeinterval = (value: number): Value => ({ type: 'timeinterval', value });
export const truth = (condition: boolean): Value => double(condition ? 1 : 0);

/** Renders a value the way Batch prints it in an autoscale run's results. */
export function formatValue(value: Value): string {
  switch (value.type) {
    case 'double':
      return formatDouble(value.value);
    case 'doubleVec':
      return `[${value.value.map(formatDouble).join(',')}]`;
    case 'string':
      return value.value;
    case 'timestamp':
      return formatTimestamp(value.value);
    case 'timeinterval':
      return formatTimeInterval(value.value);
  }
}

function formatDouble(n: number): string {
  return Object.is(n, -0) ? '0' : String(n);
}

function formatTimestamp(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}

/** .NET TimeSpan's constant format, `[-][d.]hh:mm:ss[.fffffff]`, as Batch's service is .NET. */
export function formatTimeInterval(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  let ticks = Math.round(Math.abs(ms) * 10_000);
  const ticksPerSecond = 10_000_000;
  const fraction = ticks % ticksPerSecond;
  ticks = (ticks - fraction) / ticksPerSecond;
  const seconds = ticks % 60;
  ticks = (ticks - seconds) / 60;
  const minutes = ticks % 60;
  ticks = (ticks - minutes) / 60;
  const hours = ticks % 24;
  const days = (ticks - hours) / 24;
  const two = (n: number): string => String(n).padStart(2, '0');
  const dayPart = days > 0 ? `${days}.` : '';
  const fractionPart = fraction > 0 ? `.${String(fraction).padStart(7, '0')}` : '';
  return `${sign}${dayPart}${two(hours)}:${two(minutes)}:${two(seconds)}${fractionPart}`;
}
