import type { Expression, Statement } from './ast.js';
import { FormulaError } from './errors.js';
import {
  FUNCTION_ARITY,
  METHOD_ARITY,
  METRIC_NAMES,
  READ_WRITE_SERVICE_VARIABLES,
  TIME_INTERVAL_CONSTANTS,
  TIMESTAMP_MEMBERS,
  isNodeDeallocationOption,
  isReservedName,
  isTimestampMember,
  metricOf,
} from './vocabulary.js';

/**
 * The checks Batch makes before it evaluates anything: every name read is known at that point,
 * functions and methods exist and get the right number of arguments, and nothing read-only is
 * assigned. Statements run in order, so a user variable is known only after its first assignment.
 */
export function checkFormula(statements: readonly Statement[]): void {
  const defined = new Set<string>();
  for (const statement of statements) {
    if (statement.kind === 'assign') {
      if (isReservedName(statement.name)) {
        throw new FormulaError('read-only', `'${statement.name}' is read-only and cannot be assigned`, statement.at);
      }
      checkExpression(statement.value, defined);
      defined.add(statement.name);
    } else {
      checkExpression(statement.expression, defined);
    }
  }
}

const KNOWN_NAMES: readonly string[] = [
  ...READ_WRITE_SERVICE_VARIABLES,
  ...METRIC_NAMES.map((name) => `$${name}`),
  ...TIME_INTERVAL_CONSTANTS.keys(),
];

function checkExpression(expression: Expression, defined: ReadonlySet<string>): void {
  switch (expression.kind) {
    case 'number':
    case 'string':
      return;
    case 'variable': {
      const { name } = expression;
      if (
        defined.has(name) ||
        READ_WRITE_SERVICE_VARIABLES.has(name) ||
        metricOf(name) !== undefined ||
        TIME_INTERVAL_CONSTANTS.has(name) ||
        isNodeDeallocationOption(name)
      ) {
        return;
      }
      throw new FormulaError(
        'unknown-variable',
        `Unknown variable '${name}'${suggestion(name, [...defined, ...KNOWN_NAMES])}`,
        expression.at,
      );
    }
    case 'vector':
      expression.items.forEach((item) => checkExpression(item, defined));
      return;
    case 'unary':
      checkExpression(expression.operand, defined);
      return;
    case 'binary':
    case 'logical':
      checkExpression(expression.left, defined);
      checkExpression(expression.right, defined);
      return;
    case 'conditional':
      checkExpression(expression.test, defined);
      checkExpression(expression.whenTrue, defined);
      checkExpression(expression.whenFalse, defined);
      return;
    case 'call': {
      const arity = FUNCTION_ARITY.get(expression.name);
      if (arity === undefined) {
        throw new FormulaError(
          'unknown-function',
          `Unknown function '${expression.name}'${suggestion(expression.name, [...FUNCTION_ARITY.keys()])}`,
          expression.at,
        );
      }
      checkCount(`${expression.name}()`, expression.args.length, arity, expression);
      expression.args.forEach((arg) => checkExpression(arg, defined));
      return;
    }
    case 'method': {
      const { target } = expression;
      if (target.kind !== 'variable' || metricOf(target.name) === undefined) {
        throw new FormulaError(
          'type',
          `${expression.name}() can only be called on a metric such as $CPUPercent or $PendingTasks`,
          expression.at,
        );
      }
      const arity = METHOD_ARITY.get(expression.name);
      if (arity === undefined) {
        throw new FormulaError(
          'unknown-member',
          `Unknown method '${expression.name}' on ${target.name}${suggestion(expression.name, [...METHOD_ARITY.keys()])}`,
          expression.at,
        );
      }
      checkCount(`${expression.name}()`, expression.args.length, arity, expression);
      expression.args.forEach((arg) => checkExpression(arg, defined));
      return;
    }
    case 'member':
      checkExpression(expression.target, defined);
      if (!isTimestampMember(expression.name)) {
        throw new FormulaError(
          'unknown-member',
          `Unknown member '${expression.name}'; a timestamp has ${TIMESTAMP_MEMBERS.join(', ')}`,
          expression.at,
        );
      }
      return;
  }
}

function checkCount(
  what: string,
  count: number,
  arity: { min: number; max?: number | undefined },
  expression: Expression,
): void {
  if (count >= arity.min && (arity.max === undefined || count <= arity.max)) return;
  const expected =
    arity.max === undefined
      ? `at least ${arity.min}`
      : arity.min === arity.max
        ? `${arity.min}`
        : `${arity.min} to ${arity.max}`;
  throw new FormulaError(
    'argument-count',
    `${what} takes ${expected} argument${expected === '1' ? '' : 's'} but was given ${count}`,
    expression.at,
  );
}

/** A hint when the name differs from a known one only in case, the commonest slip. */
function suggestion(name: string, known: readonly string[]): string {
  const match = known.find((candidate) => candidate.toLowerCase() === name.toLowerCase());
  return match === undefined ? '' : `; did you mean '${match}'?`;
}
