import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FormulaError, evaluateFormulaText, parseFormula, type EvaluationResult } from '../../shared/autoscale/index.js';
import { ARTICLE_FORMULAS } from './article-formulas.js';
import { environment, repeat, seededRandom } from './helpers.js';

// Whatever text arrives (from a user, a CLI, a REST call), parsing either succeeds or throws a
// FormulaError, and evaluation always returns a result: never an exception, never an internal
// error, never a target the pool could not take.

const env = (seed: number) =>
  environment({
    random: seededRandom(seed),
    dedicated: 2,
    lowPriority: 1,
    samples: {
      PendingTasks: repeat(4, 25),
      ActiveTasks: [0, 1, 2, 3],
      RunningTasks: repeat(1, 130),
      CPUPercent: repeat(0.5, 40),
      PreemptedNodeCount: repeat(1, 6),
    },
  });

function checkTotal(text: string, seed: number): void {
  try {
    parseFormula(text);
  } catch (error) {
    expect(error).toBeInstanceOf(FormulaError);
  }
  let result: EvaluationResult | undefined;
  expect(() => {
    result = evaluateFormulaText(text, env(seed));
  }).not.toThrow();
  const { error, targetDedicatedNodes, targetLowPriorityNodes } = result!;
  for (const target of [targetDedicatedNodes, targetLowPriorityNodes]) {
    expect(Number.isInteger(target) && target >= 0).toBe(true);
  }
  if (error !== undefined) {
    expect(error).toBeInstanceOf(FormulaError);
    expect(error.kind).not.toBe('internal');
    expect(error.message.length).toBeGreaterThan(0);
    const lines = text.split('\n');
    expect(error.line).toBeGreaterThanOrEqual(1);
    expect(error.line).toBeLessThanOrEqual(lines.length);
    expect(error.column).toBeGreaterThanOrEqual(1);
    expect(error.column).toBeLessThanOrEqual(lines[error.line - 1]!.length + 1);
  }
}

const TOKENS = [
  '$TargetDedicatedNodes', '$TargetLowPriority', '$NodeDeallocationOption', '$PendingTasks', '$CPUPercent',
  '$CurrentDedicatedNodes', 'x', '$y', 'TimeInterval_Minute', 'TimeInterval_Zero', 'taskcompletion',
  '.GetSample(', '.GetSamplePercent(', '.Count()', '.HistoryBeginTime()', '.hour', '.weekday',
  'time(', 'time()', 'avg(', 'max(', 'min(', 'val(', 'percentile(', 'lg(', 'std(', 'rand()', 'stop()', 'len(',
  '(', ')', '[', ']', ',', ';', '=', '==', '!=', '<', '>=', '&&', '||', '?', ':', '+', '-', '*', '/', '!',
  '0', '1', '2.5', '70', '-3', '1e308', '"2024-05-06T10:00:00Z"', '""', '"x"', '\n', '// c\n',
];

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 3 })) }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: fc.constantFrom(...TOKENS) }),
);

interface Mutation {
  kind: 'delete' | 'insert' | 'replace';
  at: number;
  length?: number;
  text?: string;
}

function mutate(text: string, mutations: readonly Mutation[]): string {
  let result = text;
  for (const m of mutations) {
    const at = result.length === 0 ? 0 : m.at % (result.length + 1);
    if (m.kind === 'delete') result = result.slice(0, at) + result.slice(at + (m.length ?? 1));
    else if (m.kind === 'insert') result = result.slice(0, at) + m.text + result.slice(at);
    else result = result.slice(0, at) + m.text + result.slice(at + (m.text?.length ?? 1));
  }
  return result;
}

describe('the evaluator is total', () => {
  it('the unmutated article formulas evaluate without throwing', () => {
    for (const text of ARTICLE_FORMULAS) checkTotal(text, 1);
  });

  it('on random strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), fc.nat(), checkTotal), { numRuns: 400 });
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.nat(), checkTotal), { numRuns: 200 });
  });

  it('on random sequences of formula tokens', () => {
    const tokens = fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }).map((parts) => parts.join(' '));
    fc.assert(fc.property(tokens, fc.nat(), checkTotal), { numRuns: 1000 });
  });

  it('on random mutations of the article examples', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ARTICLE_FORMULAS),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        fc.nat(),
        (text, mutations, seed) => checkTotal(mutate(text, mutations), seed),
      ),
      { numRuns: 1500 },
    );
  });

  it('on huge inputs near and over the limits', () => {
    fc.assert(
      fc.property(fc.constantFrom('(', '-', '!', '1+', 'x=1;', '[', 'max(', '"'), fc.integer({ min: 1, max: 9000 }), (unit, times) =>
        checkTotal(unit.repeat(times).slice(0, 9000), 0),
      ),
      { numRuns: 60 },
    );
  });
});
