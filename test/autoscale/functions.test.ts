import { describe, expect, it } from 'vitest';
import { evaluateFormulaText } from '../../shared/autoscale/index.js';
import { MONDAY_10AM, environment, errorOf, seededRandom, valueOf } from './helpers.js';

// The article's "Functions" table. doubleVecList arguments are any mix of doubles and
// doubleVecs, joined into one vector: avg(v, 7) with v = [1,2,3] is avg(1,2,3,7).

describe('doubleVecList functions', () => {
  it('avg', () => {
    expect(valueOf('avg(1, 2, 3, 6)')).toBe('3');
    expect(valueOf('avg([1, 2, 3], 7)')).toBe('3.25');
    expect(errorOf('x = avg();').kind).toBe('argument');
    expect(errorOf('x = avg([]);').kind).toBe('argument');
  });

  it('len', () => {
    expect(valueOf('len([1, 2, 3], 7)')).toBe('4');
    expect(valueOf('len()')).toBe('0');
  });

  it('max and min', () => {
    expect(valueOf('max(3, [9, -1], 4)')).toBe('9');
    expect(valueOf('min(3, [9, -1], 4)')).toBe('-1');
    expect(valueOf('max(5)')).toBe('5');
    expect(errorOf('x = min([]);').kind).toBe('argument');
  });

  it('norm is the two-norm', () => {
    expect(valueOf('norm(3, 4)')).toBe('5');
    expect(valueOf('norm([1, 2], 2)')).toBe('3');
  });

  it('range is max minus min', () => {
    expect(valueOf('range([4, 10, 7])')).toBe('6');
    expect(valueOf('range(5)')).toBe('0');
  });

  it('std is the sample standard deviation', () => {
    expect(valueOf('std(2, 4, 4, 4, 5, 5, 7, 9)')).toBe(String(Math.sqrt(32 / 7)));
    expect(valueOf('std(1, 3)')).toBe(String(Math.sqrt(2)));
    expect(valueOf('std(5)')).toBe('0');
  });

  it('sum', () => {
    expect(valueOf('sum([1, 2, 3], 4)')).toBe('10');
    expect(valueOf('sum()')).toBe('0');
  });

  it('rejects arguments that are neither double nor doubleVec, pointing at the argument', () => {
    const error = errorOf('x = avg(1, "two");');
    expect(error.kind).toBe('type');
    expect([error.line, error.column]).toEqual([1, 12]);
    expect(errorOf('x = max(TimeInterval_Hour);').kind).toBe('type');
  });
});

describe('logarithms', () => {
  it('lg, ln and log of a double', () => {
    expect(valueOf('lg(8)')).toBe('3');
    expect(valueOf('ln(1)')).toBe('0');
    expect(Number(valueOf('ln(10)'))).toBeCloseTo(Math.LN10, 12);
    expect(valueOf('log(1000)')).toBe('3');
  });

  it('component-wise on a doubleVec', () => {
    expect(valueOf('lg([1, 2, 1024])')).toBe('[0,1,10]');
    expect(valueOf('log([1, 100])')).toBe('[0,2]');
    expect(valueOf('ln([1])')).toBe('[0]');
  });

  it('are out of range for zero or negatives', () => {
    expect(errorOf('x = log(0);').kind).toBe('out-of-range');
    expect(errorOf('x = lg([1, -2]);').kind).toBe('out-of-range');
    expect(errorOf('x = ln("e");').kind).toBe('type');
  });
});

describe('percentile and val', () => {
  it('percentile returns the nearest-rank element of v', () => {
    expect(valueOf('percentile([15, 20, 35, 40, 50], 30)')).toBe('20');
    expect(valueOf('percentile([15, 20, 35, 40, 50], 40)')).toBe('20');
    expect(valueOf('percentile([15, 20, 35, 40, 50], 50)')).toBe('35');
    expect(valueOf('percentile([50, 15, 40, 20, 35], 100)')).toBe('50');
    expect(valueOf('percentile([3, 1, 2], 0)')).toBe('1');
    expect(errorOf('x = percentile([1, 2], 101);').kind).toBe('out-of-range');
    expect(errorOf('x = percentile(5, 50);').kind).toBe('type');
  });

  it('val reads element i, counting from zero', () => {
    expect(valueOf('val([4, 5, 6], 0)')).toBe('4');
    expect(valueOf('val([4, 5, 6], 2)')).toBe('6');
    const error = errorOf('x = val([4, 5, 6], 3);');
    expect(error.kind).toBe('out-of-range');
    expect(error.column).toBe(20);
    expect(errorOf('x = val([4, 5, 6], 0.5);').kind).toBe('out-of-range');
    expect(errorOf('x = val([4, 5, 6], -1);').kind).toBe('out-of-range');
  });
});

describe('rand', () => {
  it('returns the seeded random source, so evaluation is reproducible', () => {
    const first = seededRandom(7)();
    expect(valueOf('rand()', environment({ random: seededRandom(7) }))).toBe(String(first));
    const twice = (seed: number): string =>
      evaluateFormulaText('a = rand(); b = rand();', environment({ random: seededRandom(seed) })).results;
    expect(twice(1)).toBe(twice(1));
    expect(twice(1)).not.toBe(twice(2));
  });

  it('is between 0.0 and 1.0', () => {
    const value = Number(valueOf('rand()', environment({ random: seededRandom(99) })));
    expect(value).toBeGreaterThanOrEqual(0);
    expect(value).toBeLessThanOrEqual(1);
  });
});

describe('time', () => {
  it('without an argument, or with "", is the evaluation time', () => {
    expect(valueOf('time()')).toBe(new Date(MONDAY_10AM).toISOString());
    expect(valueOf('time("")')).toBe(new Date(MONDAY_10AM).toISOString());
  });

  it('parses W3C-DTF', () => {
    expect(valueOf('time("2024")')).toBe('2024-01-01T00:00:00.000Z');
    expect(valueOf('time("2024-05")')).toBe('2024-05-01T00:00:00.000Z');
    expect(valueOf('time("2024-05-06")')).toBe('2024-05-06T00:00:00.000Z');
    expect(valueOf('time("2024-05-06T10:20+02:00")')).toBe('2024-05-06T08:20:00.000Z');
    expect(valueOf('time("2024-05-06T10:20:30Z")')).toBe('2024-05-06T10:20:30.000Z');
    expect(valueOf('time("2024-05-06T10:20:30.45-01:00")')).toBe('2024-05-06T11:20:30.450Z');
  });

  it('parses RFC 1123', () => {
    expect(valueOf('time("Mon, 06 May 2024 10:20:30 GMT")')).toBe('2024-05-06T10:20:30.000Z');
    expect(valueOf('time("Mon, 06 May 2024 12:20:30 +0200")')).toBe('2024-05-06T10:20:30.000Z');
  });

  it('rejects other text, impossible dates and wrong weekdays', () => {
    for (const text of ['yesterday', '2024-02-30', '2024-05-06T10:20', 'Tue, 06 May 2024 10:20:30 GMT', '06/05/2024']) {
      const error = errorOf(`x = time("${text}");`);
      expect(error.kind).toBe('argument');
      expect(error.column).toBe(10);
    }
    expect(errorOf('x = time(5);').kind).toBe('type');
  });
});

describe('stop', () => {
  it('ends evaluation, keeping what earlier statements set', () => {
    const result = evaluateFormulaText('$TargetDedicatedNodes = 2; stop(); $TargetDedicatedNodes = 9;', environment());
    expect(result.error).toBeUndefined();
    expect(result.targetDedicatedNodes).toBe(2);
  });

  it('can be chosen by a condition', () => {
    const formula = 'quiet = $PendingTasks == 0; x = quiet ? stop() : 1; $TargetDedicatedNodes = 5;';
    const stopped = evaluateFormulaText(formula, environment({ dedicated: 3, counts: { PendingTasks: 0 } }));
    expect(stopped.targetDedicatedNodes).toBe(3);
    expect(stopped.results).not.toContain('x=');
    const busy = evaluateFormulaText(formula, environment({ dedicated: 3, counts: { PendingTasks: 4 } }));
    expect(busy.targetDedicatedNodes).toBe(5);
  });
});
