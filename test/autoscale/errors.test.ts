import { describe, expect, it } from 'vitest';
import { FormulaError, parseFormula } from '../../shared/autoscale/index.js';
import { environment, errorOf } from './helpers.js';

/** The error parseFormula throws. */
function parseError(text: string): FormulaError {
  try {
    parseFormula(text);
  } catch (error) {
    if (error instanceof FormulaError) return error;
    throw error;
  }
  throw new Error(`expected a parse error from: ${text}`);
}

const where = (error: FormulaError): [number, number] => [error.line, error.column];

describe('syntax errors', () => {
  it.each([
    ['x = 1 +', [1, 8], 'Expected an expression but found the end of the formula'],
    ['x = 1;\ny = (2 * 3;', [2, 11], "Expected ')' but found ';'"],
    ['x = 1\ny = 2', [2, 1], "Expected ';' between statements but found 'y'"],
    ['a = 1;\n  b = 2 # 3;', [2, 9], "Unexpected character '#'"],
    ['x = "open', [1, 5], 'Unterminated string literal'],
    ['x = $ + 1;', [1, 5], "Expected a variable name after '$'"],
    ['x = 2 ? 3;', [1, 10], "Expected ':' but found ';'"],
    ['x = max(1 2);', [1, 11], "Expected ',' or ')' but found number 2"],
    ['x = 12abc;', [1, 5], "Malformed number '12a'"],
    ['x = $CPUPercent.;', [1, 17], "Expected a method or member name after '.' but found ';'"],
    ['= 3;', [1, 1], "Expected an expression but found '='"],
  ])('%j', (text, position, message) => {
    const error = parseError(text);
    expect(error.kind).toBe('syntax');
    expect(where(error)).toEqual(position);
    expect(error.message).toBe(message);
  });

  it('counts columns after comments and blank lines', () => {
    const error = parseError('// header\n\n   x = 1; // fine\n   y = ;');
    expect(where(error)).toEqual([4, 8]);
  });

  it('describes itself with its place', () => {
    const error = parseError('x = (1');
    expect(error.describe()).toBe("line 1, column 7: Expected ')' but found the end of the formula");
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'FormulaError',
      kind: 'syntax',
      message: "Expected ')' but found the end of the formula",
      line: 1,
      column: 7,
    });
  });
});

describe('unknown names', () => {
  it('unknown variables, including user variables read before they are assigned', () => {
    const error = parseError('a = 1;\nb = a + c;');
    expect([error.kind, ...where(error)]).toEqual(['unknown-variable', 2, 9]);
    expect(error.message).toBe("Unknown variable 'c'");
    expect(parseError('x = y; y = 1;').kind).toBe('unknown-variable');
    expect(parseError('x = $NoSuchMetric;').kind).toBe('unknown-variable');
  });

  it('suggests the right case', () => {
    expect(parseError('x = $pendingTasks;').message).toBe("Unknown variable '$pendingTasks'; did you mean '$PendingTasks'?");
  });

  it('treats $x and x as different variables', () => {
    expect(parseError('$x = 1; y = x;').kind).toBe('unknown-variable');
  });

  it('unknown functions', () => {
    const error = parseError('x = 1;\n  y = round(2.5);');
    expect([error.kind, ...where(error)]).toEqual(['unknown-function', 2, 7]);
    expect(parseError('x = Max(1);').message).toBe("Unknown function 'Max'; did you mean 'max'?");
  });

  it('unknown methods and members', () => {
    const method = parseError('x = $CPUPercent.GetSamples(1);');
    expect([method.kind, ...where(method)]).toEqual(['unknown-member', 1, 17]);
    const member = parseError('t = time();\nx = t.hours;');
    expect([member.kind, ...where(member)]).toEqual(['unknown-member', 2, 6]);
  });

  it('methods only on metrics', () => {
    const error = parseError('v = 1;\nx = v.GetSample(1);');
    expect([error.kind, ...where(error)]).toEqual(['type', 2, 7]);
  });
});

describe('argument counts', () => {
  it.each([
    ['x = rand(1);', 'rand() takes 0 arguments but was given 1'],
    ['x = val([1]);', 'val() takes 2 arguments but was given 1'],
    ['x = lg(1, 2);', 'lg() takes 1 argument but was given 2'],
    ['x = time("a", "b");', 'time() takes 0 to 1 arguments but was given 2'],
    ['x = percentile([1]);', 'percentile() takes 2 arguments but was given 1'],
    ['x = stop(1);', 'stop() takes 0 arguments but was given 1'],
    ['x = $CPUPercent.GetSample();', 'GetSample() takes 1 to 3 arguments but was given 0'],
    ['x = $CPUPercent.Count(1);', 'Count() takes 0 arguments but was given 1'],
  ])('%s', (text, message) => {
    const error = parseError(text);
    expect(error.kind).toBe('argument-count');
    expect(error.message).toBe(message);
    expect(error.line).toBe(1);
  });
});

describe('assignments', () => {
  it('read-only service variables and constants cannot be assigned', () => {
    const error = parseError('x = 1;\n$CPUPercent = 5;');
    expect([error.kind, ...where(error)]).toEqual(['read-only', 2, 1]);
    expect(parseError('TimeInterval_Hour = 1;').kind).toBe('read-only');
    expect(parseError('requeue = 1;').kind).toBe('read-only');
    expect(parseError('$CurrentDedicatedNodes = 1;').kind).toBe('read-only');
  });

  it('targets need doubles and the deallocation option a known value', () => {
    expect(errorOf('$TargetDedicatedNodes = "many";').kind).toBe('type');
    expect(errorOf('$TargetLowPriorityNodes = [1, 2];').kind).toBe('type');
    const option = errorOf('x = 1;\n$NodeDeallocationOption = "later";');
    expect([option.kind, ...where(option)]).toEqual(['argument', 2, 1]);
    expect(errorOf('$NodeDeallocationOption = 3;').kind).toBe('type');
  });
});

describe('results out of range', () => {
  it.each([
    ['$TargetDedicatedNodes = -1;', '$TargetDedicatedNodes must be a finite number of nodes of 0 or more, not -1'],
    ['$TargetLowPriorityNodes = 0 - 0.5;', '$TargetLowPriorityNodes must be a finite number of nodes of 0 or more, not -0.5'],
    ['$TargetDedicated = -3;', '$TargetDedicatedNodes must be a finite number of nodes of 0 or more, not -3'],
  ])('%s', (text, message) => {
    const result = errorOf(`x = 1;\n  ${text}`);
    expect(result.kind).toBe('out-of-range');
    expect(result.message).toBe(message);
    expect(where(result)).toEqual([2, 3]);
  });

  it('only the final value counts', () => {
    expect(() => parseFormula('$TargetDedicatedNodes = -1; $TargetDedicatedNodes = 2;')).not.toThrow();
  });
});

describe('limits', () => {
  it('allows exactly 100 statements and rejects the 101st where it starts', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => `v${i} = ${i};`).join('\n');
    expect(parseFormula(hundred).statements).toHaveLength(100);
    const error = parseError(`${hundred}\n  v100 = 100;`);
    expect([error.kind, ...where(error)]).toEqual(['limit', 101, 3]);
    expect(error.message).toBe('A formula can have at most 100 statements');
    // Empty statements and comments are not statements.
    expect(parseFormula(`${hundred};;\n// more\n;`).statements).toHaveLength(100);
  });

  it('allows 8 KB and rejects the first byte beyond it', () => {
    const line = `x = 1; ${' '.repeat(92)}\n`; // 100 bytes
    const exactly8k = line.repeat(81) + 'y'.repeat(8192 - 8100);
    expect(new TextEncoder().encode(exactly8k).length).toBe(8192);
    expect(() => parseFormula(exactly8k.replace(/y+$/, (ys) => '/'.repeat(2) + ys.slice(2)))).not.toThrow();
    const error = parseError(`${exactly8k}z`);
    expect([error.kind, ...where(error)]).toEqual(['limit', 82, 93]);
    expect(error.message).toBe('The formula exceeds the 8192-byte (8 KB) limit');
  });

  it('counts bytes, not characters', () => {
    const comment = `// ${'é'.repeat(4095)}`; // 3 + 8190 bytes
    expect(parseError(comment).kind).toBe('limit');
    expect(() => parseFormula(`//${'é'.repeat(4095)}`)).not.toThrow();
  });

  it('rejects absurdly deep nesting with an error rather than a stack overflow', () => {
    expect(parseError(`x = ${'('.repeat(1000)}1${')'.repeat(1000)};`).kind).toBe('limit');
    expect(parseError(`x = ${'-'.repeat(3000)}1;`).kind).toBe('limit');
    expect(parseError(`x = 1${' + 1'.repeat(1500)};`).kind).toBe('limit');
    expect(() => parseFormula(`x = ${'('.repeat(50)}1${')'.repeat(50)} + 2${' * 2'.repeat(50)};`)).not.toThrow();
  });
});

describe('evaluation never throws', () => {
  it('turns a broken environment into an internal error', () => {
    const env = environment();
    const broken = { ...env, metrics: undefined as never };
    expect(errorOf('x = $CPUPercent.GetSample(1);', broken).kind).toBe('internal');
    expect(errorOf('x = rand();', { ...env, random: () => Number.NaN }).kind).toBe('internal');
  });
});
