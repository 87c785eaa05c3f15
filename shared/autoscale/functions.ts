import { FormulaError, type SourcePosition } from './errors.js';
import { checked } from './operators.js';
import { parseDateTime } from './time-parse.js';
import { double, doubleVec, timestamp, type Value } from './values.js';

/** An evaluated argument and where it was written, for errors that point at the argument. */
export interface Argument {
  value: Value;
  at: SourcePosition;
}

export interface FunctionContext {
  now: number;
  random: () => number;
}

/** The built-in functions except stop(), which is control flow and belongs to the evaluator. */
export function callFunction(name: string, args: readonly Argument[], at: SourcePosition, context: FunctionContext): Value {
  switch (name) {
    case 'avg': {
      const values = nonEmpty(name, flatten(args), at);
      return double(checked(sumOf(values) / values.length, at));
    }
    case 'len':
      return double(flatten(args).length);
    case 'lg':
      return componentWise(name, args[0]!, Math.log2, at);
    case 'ln':
      return componentWise(name, args[0]!, Math.log, at);
    case 'log':
      return componentWise(name, args[0]!, Math.log10, at);
    case 'max':
      return double(nonEmpty(name, flatten(args), at).reduce((a, b) => Math.max(a, b)));
    case 'min':
      return double(nonEmpty(name, flatten(args), at).reduce((a, b) => Math.min(a, b)));
    case 'norm':
      return double(checked(Math.sqrt(sumOf(flatten(args).map((x) => x * x))), at));
    case 'percentile':
      return double(percentile(vectorArgument(name, args[0]!), doubleArgument(name, args[1]!), args, at));
    case 'rand':
      return double(randomFraction(context.random, at));
    case 'range': {
      const values = nonEmpty(name, flatten(args), at);
      return double(checked(values.reduce((a, b) => Math.max(a, b)) - values.reduce((a, b) => Math.min(a, b)), at));
    }
    case 'std':
      return double(checked(sampleStandardDeviation(nonEmpty(name, flatten(args), at)), at));
    case 'sum':
      return double(checked(sumOf(flatten(args)), at));
    case 'time':
      return timestamp(time(args[0], context.now));
    case 'val':
      return double(element(vectorArgument(name, args[0]!), doubleArgument(name, args[1]!), args[1]!.at));
    default:
      throw new FormulaError('unknown-function', `Unknown function '${name}'`, at);
  }
}

/** A doubleVecList: any mix of doubles and doubleVecs, joined into one vector. */
function flatten(args: readonly Argument[]): number[] {
  const values: number[] = [];
  for (const { value, at } of args) {
    if (value.type === 'double') values.push(value.value);
    else if (value.type === 'doubleVec') for (const item of value.value) values.push(item);
    else throw new FormulaError('type', `Expected a double or doubleVec but found a ${value.type}`, at);
  }
  return values;
}

function nonEmpty(name: string, values: number[], at: SourcePosition): number[] {
  if (values.length === 0) throw new FormulaError('argument', `${name}() of an empty list has no value`, at);
  return values;
}

// Kahan summation keeps sums of many 30-second samples from drifting.
function sumOf(values: readonly number[]): number {
  let sum = 0;
  let carry = 0;
  for (const value of values) {
    const y = value - carry;
    const t = sum + y;
    carry = t - sum - y;
    sum = t;
  }
  return sum;
}

function sampleStandardDeviation(values: readonly number[]): number {
  // One sample has no spread; Batch's doc says "sample standard deviation", so n - 1 below.
  if (values.length < 2) return 0;
  const mean = sumOf(values) / values.length;
  return Math.sqrt(sumOf(values.map((v) => (v - mean) ** 2)) / (values.length - 1));
}

/** lg/ln/log: double -> double, doubleVec -> doubleVec (the doc's "vec(double) must be explicitly passed"). */
function componentWise(name: string, arg: Argument, f: (x: number) => number, at: SourcePosition): Value {
  const apply = (x: number): number => {
    if (x <= 0) throw new FormulaError('out-of-range', `${name}() needs a positive number, not ${x}`, arg.at);
    return checked(f(x), at);
  };
  if (arg.value.type === 'double') return double(apply(arg.value.value));
  if (arg.value.type === 'doubleVec') return doubleVec(arg.value.value.map(apply));
  throw new FormulaError('type', `${name}() needs a double or doubleVec, not a ${arg.value.type}`, arg.at);
}

/** The nearest-rank percentile, so the result is always an element of v as the doc says. */
function percentile(values: readonly number[], p: number, args: readonly Argument[], at: SourcePosition): number {
  if (values.length === 0) throw new FormulaError('argument', 'percentile() of an empty doubleVec has no value', args[0]!.at);
  if (!(p >= 0 && p <= 100)) {
    throw new FormulaError('out-of-range', `percentile() needs p between 0 and 100, not ${p}`, args[1]!.at);
  }
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return checked(sorted[rank - 1]!, at);
}

function element(values: readonly number[], index: number, at: SourcePosition): number {
  if (!Number.isInteger(index) || index < 0 || index >= values.length) {
    throw new FormulaError(
      'out-of-range',
      `val() index ${index} is outside the doubleVec (valid indexes are 0 to ${values.length - 1})`,
      at,
    );
  }
  return values[index]!;
}

function randomFraction(random: () => number, at: SourcePosition): number {
  const r = random();
  if (typeof r !== 'number' || !(r >= 0 && r <= 1)) {
    throw new FormulaError('internal', 'The random source returned a value outside 0.0 to 1.0', at);
  }
  return r;
}

function time(arg: Argument | undefined, now: number): number {
  if (arg === undefined) return now;
  if (arg.value.type !== 'string') throw new FormulaError('type', `time() needs a string, not a ${arg.value.type}`, arg.at);
  if (arg.value.value === '') return now;
  const parsed = parseDateTime(arg.value.value);
  if (parsed === undefined) {
    throw new FormulaError(
      'argument',
      `time() cannot read '${arg.value.value}'; use W3C-DTF (2024-05-01T08:00:00Z) or RFC 1123 (Wed, 01 May 2024 08:00:00 GMT)`,
      arg.at,
    );
  }
  return parsed;
}

function vectorArgument(name: string, arg: Argument): readonly number[] {
  if (arg.value.type !== 'doubleVec') {
    throw new FormulaError('type', `${name}() needs a doubleVec here, not a ${arg.value.type}`, arg.at);
  }
  return arg.value.value;
}

function doubleArgument(name: string, arg: Argument): number {
  if (arg.value.type !== 'double') {
    throw new FormulaError('type', `${name}() needs a double here, not a ${arg.value.type}`, arg.at);
  }
  return arg.value.value;
}
