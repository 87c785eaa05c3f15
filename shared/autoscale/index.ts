// Azure Batch's autoscale formula language: parse once, evaluate against a pool's metrics.
export type { Expression, Formula, Statement } from './ast.js';
export { FormulaError, type FormulaErrorKind, type SourcePosition } from './errors.js';
export {
  evaluateFormula,
  evaluateFormulaText,
  type EvaluatedVariable,
  type EvaluationEnvironment,
  type EvaluationResult,
} from './evaluator.js';
export { MetricHistory, taskCountReading, type MetricHistoryOptions, type MetricReading } from './metric-history.js';
export { parseFormula } from './parser.js';
export type { MetricSample, MetricSource } from './samples.js';
export type { Value, ValueType } from './values.js';
export {
  MAX_FORMULA_BYTES,
  MAX_STATEMENTS,
  METRIC_NAMES,
  NODE_DEALLOCATION_OPTIONS,
  SAMPLE_PERIOD_MS,
  type MetricName,
  type NodeDeallocationOption,
} from './vocabulary.js';
