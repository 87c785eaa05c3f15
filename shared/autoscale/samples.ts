import { FormulaError, type SourcePosition } from './errors.js';
import type { Argument } from './functions.js';
import { double, doubleVec, timeinterval, timestamp, type Value } from './values.js';
import { SAMPLE_PERIOD_MS, type MetricName } from './vocabulary.js';

export interface MetricSample {
  timestamp: number;
  value: number;
}

/**
 * What the pool reports for its metrics: per metric (named without `$`, e.g. 'PendingTasks')
 * a sample history, oldest first, and optionally a plain current count used where a formula
 * reads the metric as a number (e.g. `$CurrentDedicatedNodes * 1.1`).
 */
export interface MetricSource {
  samples: Partial<Record<MetricName, readonly MetricSample[]>>;
  counts?: Partial<Record<MetricName, number>>;
  /** Defaults to Batch's 30 seconds. */
  samplePeriodMs?: number;
}

/** The sample methods of one metric, evaluated at `now`. */
export class MetricReader {
  private readonly history: readonly MetricSample[];
  private readonly period: number;

  constructor(
    private readonly name: MetricName,
    source: MetricSource,
    private readonly now: number,
  ) {
    const all = source.samples[name] ?? [];
    // Samples stamped after the evaluation time do not exist yet from the formula's point of view.
    this.history = all.filter((sample) => sample.timestamp <= now);
    this.period = source.samplePeriodMs !== undefined && source.samplePeriodMs > 0 ? source.samplePeriodMs : SAMPLE_PERIOD_MS;
  }

  call(method: string, args: readonly Argument[], at: SourcePosition): Value {
    switch (method) {
      case 'GetSample':
        return doubleVec(this.getSample(args, at));
      case 'GetSamplePercent': {
        const window = this.window(args[0]!, args[1]);
        return double(this.percentIn(window, at).percent);
      }
      case 'GetSamplePeriod':
        return timeinterval(this.period);
      case 'Count':
        return double(this.history.length);
      case 'HistoryBeginTime': {
        if (this.history.length === 0) throw new FormulaError('argument', `$${this.name} has no samples yet`, at);
        return timestamp(this.history.reduce((oldest, s) => Math.min(oldest, s.timestamp), Infinity));
      }
      default:
        throw new FormulaError('unknown-member', `Unknown method '${method}'`, at);
    }
  }

  private getSample(args: readonly Argument[], at: SourcePosition): number[] {
    const first = args[0]!;
    if (first.value.type === 'double') {
      if (args.length > 1) {
        throw new FormulaError('argument-count', 'GetSample(count) takes no further arguments', args[1]!.at);
      }
      return this.latest(first.value.value, first.at);
    }
    // GetSample(start [, end] [, samplePercent]): a double in second place is the percentage.
    const second = args[1];
    const endArg = second !== undefined && second.value.type !== 'double' ? second : undefined;
    const percentArg = endArg === undefined ? second : args[2];
    if (endArg === undefined && args.length > 2) {
      throw new FormulaError('type', 'GetSample needs a timestamp or timeinterval as its end time', args[1]!.at);
    }
    const window = this.window(first, endArg);
    const { inWindow, percent, expected } = this.percentIn(window, at);
    if (percentArg !== undefined) {
      if (percentArg.value.type !== 'double') {
        throw new FormulaError('type', `GetSample's sample percentage must be a double, not a ${percentArg.value.type}`, percentArg.at);
      }
      const required = percentArg.value.value;
      if (!(required >= 0 && required <= 100)) {
        throw new FormulaError('out-of-range', `GetSample's sample percentage must be between 0 and 100, not ${required}`, percentArg.at);
      }
      if (percent < required) {
        throw new FormulaError(
          'insufficient-samples',
          `GetSample on $${this.name}: only ${round(percent)}% of the samples (${inWindow.length} of ${expected}) ` +
            `are available in the requested interval, but ${required}% are required`,
          at,
        );
      }
    }
    return inWindow.map((sample) => sample.value);
  }

  private latest(count: number, at: SourcePosition): number[] {
    if (!Number.isInteger(count) || count < 1) {
      throw new FormulaError('out-of-range', `GetSample(count) needs a whole number of samples of at least 1, not ${count}`, at);
    }
    return this.history.slice(-count).map((sample) => sample.value);
  }

  /** Both ends as absolute times; a timeinterval counts back from now. The ends may come in either order. */
  private window(start: Argument, end: Argument | undefined): { from: number; to: number; at: SourcePosition } {
    const a = this.instant(start);
    const b = end === undefined ? this.now : this.instant(end);
    return { from: Math.min(a, b), to: Math.max(a, b), at: start.at };
  }

  private instant(arg: Argument): number {
    if (arg.value.type === 'timeinterval') return this.now - arg.value.value;
    if (arg.value.type === 'timestamp') return arg.value.value;
    throw new FormulaError('type', `Expected a timestamp or timeinterval but found a ${arg.value.type}`, arg.at);
  }

  /** Samples in (from, to] against the number Batch would have recorded there, one per period. */
  private percentIn(
    window: { from: number; to: number; at: SourcePosition },
    at: SourcePosition,
  ): { inWindow: MetricSample[]; percent: number; expected: number } {
    const length = window.to - window.from;
    if (!(length > 0)) throw new FormulaError('argument', 'The sample interval is empty', window.at);
    const expected = Math.max(1, Math.floor(length / this.period));
    const inWindow = this.history.filter((s) => s.timestamp > window.from && s.timestamp <= window.to);
    if (!Number.isFinite(length)) throw new FormulaError('out-of-range', 'The sample interval is not finite', at);
    return { inWindow, percent: Math.min(100, (inWindow.length / expected) * 100), expected };
  }
}

const round = (n: number): number => Math.round(n * 100) / 100;
