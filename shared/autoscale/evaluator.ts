import type { Expression, Formula, Statement } from './ast.js';
import { FormulaError, START_OF_TEXT, type SourcePosition } from './errors.js';
import { callFunction, type Argument } from './functions.js';
import { applyBinary, applyUnary, asCondition } from './operators.js';
import { parseFormula } from './parser.js';
import { MetricReader, type MetricSource } from './samples.js';
import { double, formatValue, string, timeinterval, type Value } from './values.js';
import {
  NODE_DEALLOCATION_OPTION,
  TARGET_DEDICATED,
  TARGET_DEDICATED_ALIAS,
  TARGET_LOW_PRIORITY,
  TARGET_LOW_PRIORITY_ALIAS,
  TIME_INTERVAL_CONSTANTS,
  isNodeDeallocationOption,
  isTimestampMember,
  metricOf,
  type MetricName,
  type NodeDeallocationOption,
} from './vocabulary.js';

export interface EvaluationEnvironment {
  /** The evaluation time, ms since the epoch: time() and every sample window are relative to it. */
  now: number;
  /** Seeded source for rand(), returning values in [0, 1]. */
  random: () => number;
  metrics: MetricSource;
  /** The pool's current node counts; also the targets when the formula sets none. */
  current: { dedicated: number; lowPriority: number };
}

export interface EvaluatedVariable {
  name: string;
  value?: string;
  error?: string;
}

export interface EvaluationResult {
  targetDedicatedNodes: number;
  targetLowPriorityNodes: number;
  nodeDeallocationOption: NodeDeallocationOption;
  /** As Batch prints an autoscale run: "$TargetDedicatedNodes=3;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;..." */
  results: string;
  variables: EvaluatedVariable[];
  error?: FormulaError;
}

/** Thrown by stop(): ends evaluation and keeps what the statements before it set. */
class StopEvaluation {}

interface Assigned<T> {
  value: T;
  at: SourcePosition;
}

/**
 * Runs a parsed formula against the pool's metrics. Never throws: a runtime error is returned
 * in `error`, with the targets left at the pool's current size.
 */
export function evaluateFormula(formula: Formula, env: EvaluationEnvironment): EvaluationResult {
  const run = new Evaluation(env);
  try {
    run.execute(formula.statements);
    return run.success();
  } catch (error) {
    return run.failure(asFormulaError(error, run.position));
  }
}

/** Parses then evaluates; a parse error comes back in `error` like a runtime one. Never throws. */
export function evaluateFormulaText(text: string, env: EvaluationEnvironment): EvaluationResult {
  let formula: Formula;
  try {
    formula = parseFormula(text);
  } catch (error) {
    return new Evaluation(env).failure(asFormulaError(error, START_OF_TEXT));
  }
  return evaluateFormula(formula, env);
}

function asFormulaError(error: unknown, at: SourcePosition): FormulaError {
  if (error instanceof FormulaError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new FormulaError('internal', `Evaluation failed unexpectedly: ${detail}`, at);
}

class Evaluation {
  private readonly user = new Map<string, Assigned<Value>>();
  private readonly targets = new Map<string, Assigned<number>>();
  private deallocation: Assigned<NodeDeallocationOption> | undefined;
  private failedVariable: string | undefined;
  /** The statement being run, for errors that have no better place to point at. */
  position: SourcePosition = START_OF_TEXT;

  constructor(private readonly env: EvaluationEnvironment) {}

  execute(statements: readonly Statement[]): void {
    for (const statement of statements) {
      this.position = statement.at;
      try {
        if (statement.kind === 'assign') {
          this.failedVariable = statement.name;
          this.assign(statement.name, this.evaluate(statement.value), statement.at);
          this.failedVariable = undefined;
        } else {
          this.evaluate(statement.expression);
        }
      } catch (error) {
        if (error instanceof StopEvaluation) {
          this.failedVariable = undefined;
          return;
        }
        throw error;
      }
    }
  }

  success(): EvaluationResult {
    const dedicated = this.finalTarget(TARGET_DEDICATED, TARGET_DEDICATED_ALIAS, this.env.current.dedicated);
    const lowPriority = this.finalTarget(TARGET_LOW_PRIORITY, TARGET_LOW_PRIORITY_ALIAS, this.env.current.lowPriority);
    return this.result(dedicated, lowPriority, this.deallocation?.value ?? 'requeue');
  }

  failure(error: FormulaError): EvaluationResult {
    const result = this.result(this.env.current?.dedicated ?? 0, this.env.current?.lowPriority ?? 0, 'requeue');
    const failed = this.failedVariable;
    if (failed !== undefined) {
      const entry: EvaluatedVariable = { name: failed, error: error.message };
      const index = result.variables.findIndex((v) => v.name === failed);
      if (index >= 0) result.variables[index] = entry;
      else result.variables.push(entry);
      result.results = result.variables
        .filter((v) => v.value !== undefined)
        .map((v) => `${v.name}=${v.value}`)
        .join(';');
    }
    return { ...result, error };
  }

  private result(dedicated: number, lowPriority: number, option: NodeDeallocationOption): EvaluationResult {
    const variables: EvaluatedVariable[] = [
      { name: TARGET_DEDICATED, value: String(dedicated) },
      { name: TARGET_LOW_PRIORITY, value: String(lowPriority) },
      { name: NODE_DEALLOCATION_OPTION, value: option },
    ];
    const names = [...this.user.keys()].sort(
      (a, b) => compareText(a.toLowerCase(), b.toLowerCase()) || compareText(a, b),
    );
    for (const name of names) variables.push({ name, value: formatValue(this.user.get(name)!.value) });
    return {
      targetDedicatedNodes: dedicated,
      targetLowPriorityNodes: lowPriority,
      nodeDeallocationOption: option,
      results: variables.map((v) => `${v.name}=${v.value}`).join(';'),
      variables,
    };
  }

  /** The full name wins over its alias when both are set, as the article says. Batch truncates fractions. */
  private finalTarget(name: string, alias: string, current: number): number {
    const assigned = this.targets.get(name) ?? this.targets.get(alias);
    if (assigned === undefined) return current;
    const raw = assigned.value;
    if (!Number.isFinite(raw) || raw < 0 || raw > Number.MAX_SAFE_INTEGER) {
      this.failedVariable = name;
      throw new FormulaError('out-of-range', `${name} must be a finite number of nodes of 0 or more, not ${raw}`, assigned.at);
    }
    return Math.floor(raw);
  }

  private assign(name: string, value: Value, at: SourcePosition): void {
    switch (name) {
      case TARGET_DEDICATED:
      case TARGET_DEDICATED_ALIAS:
      case TARGET_LOW_PRIORITY:
      case TARGET_LOW_PRIORITY_ALIAS:
        if (value.type !== 'double') throw new FormulaError('type', `${name} must be a double, not a ${value.type}`, at);
        this.targets.set(name, { value: value.value, at });
        return;
      case NODE_DEALLOCATION_OPTION:
        if (value.type !== 'string') throw new FormulaError('type', `${name} must be a string, not a ${value.type}`, at);
        if (!isNodeDeallocationOption(value.value)) {
          throw new FormulaError(
            'argument',
            `${name} must be requeue, terminate, taskcompletion or retaineddata, not '${value.value}'`,
            at,
          );
        }
        this.deallocation = { value: value.value, at };
        return;
      default:
        this.user.set(name, { value, at });
    }
  }

  private evaluate(expression: Expression): Value {
    switch (expression.kind) {
      case 'number':
        return double(expression.value);
      case 'string':
        return string(expression.value);
      case 'vector': {
        const items: number[] = [];
        for (const item of expression.items) {
          const value = this.evaluate(item);
          if (value.type === 'double') items.push(value.value);
          else if (value.type === 'doubleVec') for (const x of value.value) items.push(x);
          else throw new FormulaError('type', `A doubleVec holds doubles, not a ${value.type}`, item.at);
        }
        return { type: 'doubleVec', value: items };
      }
      case 'variable':
        return this.read(expression.name, expression.at);
      case 'unary':
        return applyUnary(expression.operator, this.evaluate(expression.operand), expression.at);
      case 'binary':
        return applyBinary(expression.operator, this.evaluate(expression.left), this.evaluate(expression.right), expression.at);
      case 'logical': {
        const what = `Operator '${expression.operator}'`;
        const left = asCondition(this.evaluate(expression.left), what, expression.at);
        // Short-circuits like C, so `n > 0 && x / n > 1` is safe.
        if (expression.operator === '&&' ? !left : left) return double(left ? 1 : 0);
        return double(asCondition(this.evaluate(expression.right), what, expression.at) ? 1 : 0);
      }
      case 'conditional': {
        // Only the chosen branch runs, so a GetSample guarded by a test cannot fail the formula.
        const test = asCondition(this.evaluate(expression.test), "The condition of '?:'", expression.at);
        return this.evaluate(test ? expression.whenTrue : expression.whenFalse);
      }
      case 'call':
        if (expression.name === 'stop') throw new StopEvaluation();
        return callFunction(expression.name, this.evaluateArguments(expression.args), expression.at, this.env);
      case 'method': {
        const metric = expression.target.kind === 'variable' ? metricOf(expression.target.name) : undefined;
        if (metric === undefined) {
          throw new FormulaError('type', `${expression.name}() can only be called on a metric`, expression.at);
        }
        return new MetricReader(metric, this.env.metrics, this.env.now).call(
          expression.name,
          this.evaluateArguments(expression.args),
          expression.at,
        );
      }
      case 'member': {
        const target = this.evaluate(expression.target);
        if (target.type !== 'timestamp') {
          throw new FormulaError('type', `'.${expression.name}' needs a timestamp, not a ${target.type}`, expression.at);
        }
        return double(timestampMember(target.value, expression.name, expression.at));
      }
    }
  }

  private evaluateArguments(args: readonly Expression[]): Argument[] {
    return args.map((arg) => ({ value: this.evaluate(arg), at: arg.at }));
  }

  private read(name: string, at: SourcePosition): Value {
    const user = this.user.get(name);
    if (user !== undefined) return user.value;
    switch (name) {
      case TARGET_DEDICATED:
        return double(this.currentTarget(name, TARGET_DEDICATED_ALIAS, this.env.current.dedicated));
      case TARGET_DEDICATED_ALIAS:
        return double(this.currentTarget(name, TARGET_DEDICATED, this.env.current.dedicated));
      case TARGET_LOW_PRIORITY:
        return double(this.currentTarget(name, TARGET_LOW_PRIORITY_ALIAS, this.env.current.lowPriority));
      case TARGET_LOW_PRIORITY_ALIAS:
        return double(this.currentTarget(name, TARGET_LOW_PRIORITY, this.env.current.lowPriority));
      case NODE_DEALLOCATION_OPTION:
        return string(this.deallocation?.value ?? 'requeue');
    }
    const metric = metricOf(name);
    if (metric !== undefined) return double(this.plainCount(metric, at));
    const interval = TIME_INTERVAL_CONSTANTS.get(name);
    if (interval !== undefined) return timeinterval(interval);
    if (isNodeDeallocationOption(name)) return string(name);
    throw new FormulaError('unknown-variable', `Unknown variable '${name}'`, at);
  }

  private currentTarget(name: string, other: string, current: number): number {
    return (this.targets.get(name) ?? this.targets.get(other))?.value ?? current;
  }

  /** A metric read as a number: its current count, or failing that its newest sample. */
  private plainCount(metric: MetricName, at: SourcePosition): number {
    if (metric === 'CurrentDedicatedNodes') return this.env.current.dedicated;
    if (metric === 'CurrentLowPriorityNodes') return this.env.current.lowPriority;
    const count = this.env.metrics.counts?.[metric];
    if (count !== undefined) return count;
    const samples = (this.env.metrics.samples[metric] ?? []).filter((s) => s.timestamp <= this.env.now);
    const newest = samples[samples.length - 1];
    if (newest === undefined) {
      throw new FormulaError('argument', `$${metric} has no value yet; it has no count and no samples`, at);
    }
    return newest.value;
  }
}

function timestampMember(ms: number, member: string, at: SourcePosition): number {
  if (!isTimestampMember(member)) throw new FormulaError('unknown-member', `Unknown member '${member}'`, at);
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) throw new FormulaError('out-of-range', 'The timestamp is out of range', at);
  switch (member) {
    case 'year':
      return date.getUTCFullYear();
    case 'month':
      return date.getUTCMonth() + 1;
    case 'day':
      return date.getUTCDate();
    case 'weekday':
      // 0 is Sunday and 1 Monday, as .NET's DayOfWeek (the article: "1 for Monday").
      return date.getUTCDay();
    case 'hour':
      return date.getUTCHours();
    case 'minute':
      return date.getUTCMinutes();
    case 'second':
      return date.getUTCSeconds();
  }
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
