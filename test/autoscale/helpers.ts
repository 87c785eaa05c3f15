import {
  evaluateFormulaText,
  type EvaluationEnvironment,
  type FormulaError,
  type MetricName,
  type MetricSample,
  type MetricSource,
} from '../../shared/autoscale/index.js';
import { seededRandom } from '../../shared/seeded-random.js';

/** Seeded, so rand() in tests is reproducible. */
export { seededRandom };

export const MONDAY_10AM = Date.parse('2024-05-06T10:00:00Z');

/** One sample every 30 s, the last one stamped exactly at `now`. */
export function series(now: number, values: readonly number[]): MetricSample[] {
  return values.map((value, i) => ({ timestamp: now - 30_000 * (values.length - 1 - i), value }));
}

export function repeat(value: number, times: number): number[] {
  return Array.from({ length: times }, () => value);
}

export function environment(
  options: {
    now?: number;
    samples?: Partial<Record<MetricName, readonly number[]>>;
    counts?: MetricSource['counts'];
    dedicated?: number;
    lowPriority?: number;
    random?: () => number;
  } = {},
): EvaluationEnvironment {
  const now = options.now ?? MONDAY_10AM;
  const samples: MetricSource['samples'] = {};
  for (const [name, values] of Object.entries(options.samples ?? {}) as [MetricName, number[]][]) {
    samples[name] = series(now, values);
  }
  const metrics: MetricSource = { samples };
  if (options.counts !== undefined) metrics.counts = options.counts;
  return {
    now,
    random: options.random ?? seededRandom(42),
    metrics,
    current: { dedicated: options.dedicated ?? 0, lowPriority: options.lowPriority ?? 0 },
  };
}

/** Evaluates `x = <expression>;` and returns x as Batch prints it, or throws the formula's error. */
export function valueOf(expression: string, env: EvaluationEnvironment = environment()): string {
  const result = evaluateFormulaText(`x = ${expression};`, env);
  if (result.error) throw result.error;
  const x = result.variables.find((v) => v.name === 'x');
  if (x?.value === undefined) throw new Error('x was not set');
  return x.value;
}

/** The error a formula produces, whether at parse or evaluation time. */
export function errorOf(formula: string, env: EvaluationEnvironment = environment()): FormulaError {
  const result = evaluateFormulaText(formula, env);
  if (!result.error) throw new Error(`expected an error from: ${formula}`);
  return result.error;
}
