import type { BinaryOperator, UnaryOperator } from './ast.js';
import { FormulaError, type SourcePosition } from './errors.js';
import { double, doubleVec, timeinterval, timestamp, truth, type Value } from './values.js';

// The operator table of the Batch article ("Operations"), and nothing beyond it: for example
// timestamp - timeinterval is not listed, which is why the article adds a negative interval.

type Arithmetic = '+' | '-' | '*' | '/';

export function applyBinary(operator: BinaryOperator, left: Value, right: Value, at: SourcePosition): Value {
  switch (operator) {
    case '+':
    case '-':
    case '*':
    case '/':
      return arithmetic(operator, left, right, at);
    default:
      return compare(operator, left, right, at);
  }
}

function arithmetic(operator: Arithmetic, left: Value, right: Value, at: SourcePosition): Value {
  const l = left;
  const r = right;
  if (l.type === 'double' && r.type === 'double') return double(checked(calc(operator, l.value, r.value, at), at));
  if (l.type === 'double' && r.type === 'timeinterval' && operator === '*') {
    return timeinterval(checked(l.value * r.value, at));
  }
  if (l.type === 'doubleVec' && r.type === 'double') {
    return doubleVec(l.value.map((item) => checked(calc(operator, item, r.value, at), at)));
  }
  if (l.type === 'doubleVec' && r.type === 'doubleVec') {
    if (l.value.length !== r.value.length) {
      throw new FormulaError(
        'type',
        `Operator '${operator}' needs doubleVecs of equal length, not ${l.value.length} and ${r.value.length}`,
        at,
      );
    }
    return doubleVec(l.value.map((item, i) => checked(calc(operator, item, r.value[i]!, at), at)));
  }
  if (l.type === 'timeinterval' && r.type === 'double' && (operator === '*' || operator === '/')) {
    return timeinterval(checked(calc(operator, l.value, r.value, at), at));
  }
  if (l.type === 'timeinterval' && r.type === 'timeinterval' && (operator === '+' || operator === '-')) {
    return timeinterval(checked(calc(operator, l.value, r.value, at), at));
  }
  if (operator === '+' && l.type === 'timeinterval' && r.type === 'timestamp') {
    return timestamp(checked(l.value + r.value, at));
  }
  if (operator === '+' && l.type === 'timestamp' && r.type === 'timeinterval') {
    return timestamp(checked(l.value + r.value, at));
  }
  if (operator === '-' && l.type === 'timestamp' && r.type === 'timestamp') {
    return timeinterval(checked(l.value - r.value, at));
  }
  throw undefinedOperator(operator, l, r, at);
}

function calc(operator: Arithmetic, a: number, b: number, at: SourcePosition): number {
  switch (operator) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      if (b === 0) throw new FormulaError('division-by-zero', 'Division by zero', at);
      return a / b;
  }
}

type Comparison = Exclude<BinaryOperator, Arithmetic>;

function compare(operator: Comparison, left: Value, right: Value, at: SourcePosition): Value {
  const comparable =
    left.type === right.type &&
    (left.type === 'double' || left.type === 'string' || left.type === 'timestamp' || left.type === 'timeinterval');
  if (!comparable) throw undefinedOperator(operator, left, right, at);
  const a = left.value as number | string;
  const b = right.value as number | string;
  switch (operator) {
    case '<':
      return truth(a < b);
    case '<=':
      return truth(a <= b);
    case '>':
      return truth(a > b);
    case '>=':
      return truth(a >= b);
    case '==':
      return truth(a === b);
    case '!=':
      return truth(a !== b);
  }
}

export function applyUnary(operator: UnaryOperator, operand: Value, at: SourcePosition): Value {
  if (operand.type === 'double') return operator === '-' ? double(-operand.value) : truth(operand.value === 0);
  if (operand.type === 'timeinterval' && operator === '-') return timeinterval(-operand.value);
  throw new FormulaError('type', `Operator '${operator}' is not defined for a ${operand.type}`, at);
}

/** A double used as a condition (?:, &&, ||): nonzero is true. */
export function asCondition(value: Value, what: string, at: SourcePosition): boolean {
  if (value.type !== 'double') {
    throw new FormulaError('type', `${what} needs a double, not a ${value.type}`, at);
  }
  return value.value !== 0;
}

/** Overflow to infinity is reported instead of carried on into a target node count. */
export function checked(n: number, at: SourcePosition): number {
  if (!Number.isFinite(n)) throw new FormulaError('out-of-range', 'The result is not a finite number', at);
  return n;
}

function undefinedOperator(operator: string, left: Value, right: Value, at: SourcePosition): FormulaError {
  return new FormulaError('type', `Operator '${operator}' is not defined for ${left.type} and ${right.type}`, at);
}
