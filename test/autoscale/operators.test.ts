import { describe, expect, it } from 'vitest';
import { errorOf, valueOf } from './helpers.js';

// The article's "Operations" table, row by row.

describe('double operator double', () => {
  it.each([
    ['7 + 2', '9'],
    ['7 - 2', '5'],
    ['7 * 2', '14'],
    ['7 / 2', '3.5'],
    ['1 + 2 * 3', '7'],
    ['(1 + 2) * 3', '9'],
    ['10 - 4 - 3', '3'],
    ['24 / 4 / 2', '3'],
    ['1.5e2', '150'],
    ['.5 + 0', '0.5'],
  ])('%s = %s', (expression, expected) => {
    expect(valueOf(expression)).toBe(expected);
  });

  it.each([
    ['2 < 3', '1'],
    ['3 < 3', '0'],
    ['3 <= 3', '1'],
    ['4 <= 3', '0'],
    ['3 == 3', '1'],
    ['3 == 4', '0'],
    ['3 >= 4', '0'],
    ['4 >= 4', '1'],
    ['5 > 4', '1'],
    ['4 > 4', '0'],
    ['3 != 4', '1'],
    ['3 != 3', '0'],
    ['1 + 1 == 2', '1'],
  ])('comparison %s = %s', (expression, expected) => {
    expect(valueOf(expression)).toBe(expected);
  });

  it.each([
    ['1 && 2', '1'],
    ['1 && 0', '0'],
    ['0 || 0', '0'],
    ['0 || -3', '1'],
    ['1 || 0 && 0', '1'],
  ])('logical %s = %s', (expression, expected) => {
    expect(valueOf(expression)).toBe(expected);
  });

  it('short-circuits && and || so the right side is not evaluated', () => {
    expect(valueOf('0 && 1 / 0')).toBe('0');
    expect(valueOf('1 || 1 / 0')).toBe('1');
    expect(errorOf('x = 1 && 1 / 0;').kind).toBe('division-by-zero');
  });

  it('divides by zero with an error pointing at the operator', () => {
    const error = errorOf('x = 4;\ny = x / 0;');
    expect(error.kind).toBe('division-by-zero');
    expect([error.line, error.column]).toEqual([2, 7]);
  });

  it('reports overflow to infinity as out of range', () => {
    expect(errorOf('x = 1e308 * 10;').kind).toBe('out-of-range');
  });
});

describe('unary operators', () => {
  it.each([
    ['-5', '-5'],
    ['--5', '5'],
    ['-(2 + 3)', '-5'],
    ['!0', '1'],
    ['!7', '0'],
    ['!!7', '1'],
    ['-2 * 3', '-6'],
  ])('%s = %s', (expression, expected) => {
    expect(valueOf(expression)).toBe(expected);
  });

  it('negates a timeinterval but not a string', () => {
    expect(valueOf('-TimeInterval_Minute')).toBe('-00:01:00');
    expect(errorOf('x = !TimeInterval_Minute;').kind).toBe('type');
    expect(errorOf('x = -"a";').kind).toBe('type');
  });
});

describe('ternary', () => {
  it('treats nonzero as true and zero as false, evaluating only the chosen branch', () => {
    expect(valueOf('2 ? 10 : 20')).toBe('10');
    expect(valueOf('0 ? 10 : 20')).toBe('20');
    expect(valueOf('-0.5 ? 10 : 20')).toBe('10');
    expect(valueOf('1 ? 5 : 1 / 0')).toBe('5');
    expect(valueOf('0 ? 1 : 0 ? 2 : 3')).toBe('3');
  });

  it('needs a double as its condition', () => {
    const error = errorOf('x = "yes" ? 1 : 2;');
    expect(error.kind).toBe('type');
    expect([error.line, error.column]).toEqual([1, 11]);
  });
});

describe('doubleVec operators', () => {
  it('applies doubleVec op double element-wise', () => {
    expect(valueOf('[1, 2, 3] + 1')).toBe('[2,3,4]');
    expect(valueOf('[1, 2, 3] - 1')).toBe('[0,1,2]');
    expect(valueOf('[1, 2, 3] * 2')).toBe('[2,4,6]');
    expect(valueOf('[2, 4] / 2')).toBe('[1,2]');
  });

  it('applies doubleVec op doubleVec element-wise on equal lengths only', () => {
    expect(valueOf('[1, 2] + [10, 20]')).toBe('[11,22]');
    expect(valueOf('[5, 5] - [1, 2]')).toBe('[4,3]');
    expect(valueOf('[2, 3] * [4, 5]')).toBe('[8,15]');
    expect(valueOf('[8, 9] / [2, 3]')).toBe('[4,3]');
    expect(errorOf('x = [1, 2] + [1];').kind).toBe('type');
    expect(errorOf('x = [1, 2] / [1, 0];').kind).toBe('division-by-zero');
    expect(errorOf('x = [1, 2] / 0;').kind).toBe('division-by-zero');
  });

  it('rejects combinations the table does not list', () => {
    expect(errorOf('x = 2 * [1, 2];').kind).toBe('type');
    expect(errorOf('x = [1] < [2];').kind).toBe('type');
    expect(errorOf('x = -[1, 2];').kind).toBe('type');
    expect(errorOf('x = [1] && 1;').kind).toBe('type');
  });
});

describe('timeinterval and timestamp operators', () => {
  it('multiplies and divides intervals by doubles', () => {
    expect(valueOf('2 * TimeInterval_Minute')).toBe('00:02:00');
    expect(valueOf('TimeInterval_Minute * 90')).toBe('01:30:00');
    expect(valueOf('TimeInterval_Hour / 4')).toBe('00:15:00');
    expect(errorOf('x = TimeInterval_Hour / 0;').kind).toBe('division-by-zero');
  });

  it('adds and subtracts intervals', () => {
    expect(valueOf('TimeInterval_Day + TimeInterval_Hour')).toBe('1.01:00:00');
    expect(valueOf('TimeInterval_Second - TimeInterval_Millisecond')).toBe('00:00:00.9990000');
  });

  it('moves timestamps by intervals and subtracts timestamps into intervals', () => {
    expect(valueOf('time("2024-05-06T10:00:00Z") + TimeInterval_Week')).toBe('2024-05-13T10:00:00.000Z');
    expect(valueOf('TimeInterval_Hour + time("2024-05-06T10:00:00Z")')).toBe('2024-05-06T11:00:00.000Z');
    expect(valueOf('time("2024-05-06T10:00:00Z") - time("2024-05-05T09:30:00Z")')).toBe('1.00:30:00');
  });

  it('compares timestamps with timestamps and intervals with intervals', () => {
    expect(valueOf('time("2024-05-06") < time("2024-05-07")')).toBe('1');
    expect(valueOf('time("2024-05-06") == time("Mon, 06 May 2024 00:00:00 GMT")')).toBe('1');
    expect(valueOf('TimeInterval_Minute > TimeInterval_Second')).toBe('1');
    expect(valueOf('TimeInterval_Minute * 60 == TimeInterval_Hour')).toBe('1');
  });

  it('rejects combinations the table does not list', () => {
    // timestamp - timeinterval is absent from the table; the article adds a negative interval instead.
    const error = errorOf('x = time() - TimeInterval_Hour;');
    expect(error.kind).toBe('type');
    expect(error.message).toBe("Operator '-' is not defined for timestamp and timeinterval");
    expect([error.line, error.column]).toEqual([1, 12]);
    expect(errorOf('x = TimeInterval_Minute * TimeInterval_Minute;').kind).toBe('type');
    expect(errorOf('x = time() + time();').kind).toBe('type');
    expect(errorOf('x = TimeInterval_Minute + 1;').kind).toBe('type');
    expect(errorOf('x = TimeInterval_Minute < 1;').kind).toBe('type');
    expect(errorOf('x = time() < TimeInterval_Minute;').kind).toBe('type');
  });

  it('reads the members of a timestamp in UTC', () => {
    const t = 'time("2024-05-11T13:04:05Z")';
    expect(valueOf(`${t}.year`)).toBe('2024');
    expect(valueOf(`${t}.month`)).toBe('5');
    expect(valueOf(`${t}.day`)).toBe('11');
    expect(valueOf(`${t}.weekday`)).toBe('6');
    expect(valueOf(`${t}.hour`)).toBe('13');
    expect(valueOf(`${t}.minute`)).toBe('4');
    expect(valueOf(`${t}.second`)).toBe('5');
    expect(valueOf('time("2024-05-06T00:00:00Z").weekday')).toBe('1');
    expect(errorOf('x = TimeInterval_Hour.hour;').kind).toBe('type');
  });

  it('has the ten timeinterval constants', () => {
    expect(valueOf('TimeInterval_Zero')).toBe('00:00:00');
    expect(valueOf('TimeInterval_100ns')).toBe('00:00:00.0000001');
    expect(valueOf('TimeInterval_Microsecond')).toBe('00:00:00.0000010');
    expect(valueOf('TimeInterval_Millisecond')).toBe('00:00:00.0010000');
    expect(valueOf('TimeInterval_Second')).toBe('00:00:01');
    expect(valueOf('TimeInterval_Minute')).toBe('00:01:00');
    expect(valueOf('TimeInterval_Hour')).toBe('01:00:00');
    expect(valueOf('TimeInterval_Day')).toBe('1.00:00:00');
    expect(valueOf('TimeInterval_Week')).toBe('7.00:00:00');
    expect(valueOf('TimeInterval_Year')).toBe('365.00:00:00');
  });
});

describe('string operators', () => {
  it('compares strings ordinally', () => {
    expect(valueOf('"abc" < "abd"')).toBe('1');
    expect(valueOf('"b" <= "a"')).toBe('0');
    expect(valueOf('"x" == "x"')).toBe('1');
    expect(valueOf('"x" != "x"')).toBe('0');
    expect(valueOf('"b" > "a"')).toBe('1');
    expect(valueOf('"a" >= "b"')).toBe('0');
    expect(valueOf('"say \\"hi\\""')).toBe('say "hi"');
  });

  it('does not add strings or compare them with doubles', () => {
    expect(errorOf('x = "a" + "b";').kind).toBe('type');
    expect(errorOf('x = "1" == 1;').kind).toBe('type');
  });
});
