import { describe, expect, it } from 'vitest';
import { evaluateFormulaText } from '../../shared/autoscale/index.js';
import { MONDAY_10AM, environment, errorOf, repeat, series, valueOf } from './helpers.js';

// "Obtain sample data": samples every 30 s, so 10 minutes should hold 20 of them.

describe('GetSample', () => {
  const twentyOneSamples = environment({ samples: { CPUPercent: Array.from({ length: 21 }, (_, i) => i) } });

  it('GetSample(count) returns the newest samples, oldest first', () => {
    expect(valueOf('$CPUPercent.GetSample(1)', twentyOneSamples)).toBe('[20]');
    expect(valueOf('$CPUPercent.GetSample(3)', twentyOneSamples)).toBe('[18,19,20]');
    expect(valueOf('len($CPUPercent.GetSample(100))', twentyOneSamples)).toBe('21');
    expect(valueOf('$PendingTasks.GetSample(1)')).toBe('[]');
    expect(errorOf('x = $CPUPercent.GetSample(0);').kind).toBe('out-of-range');
    expect(errorOf('x = $CPUPercent.GetSample(1.5);').kind).toBe('out-of-range');
  });

  it('GetSample(interval) returns 20 samples for the last 10 minutes of a full history', () => {
    expect(valueOf('len($CPUPercent.GetSample(TimeInterval_Minute * 10))', twentyOneSamples)).toBe('20');
    expect(valueOf('$CPUPercent.GetSample(TimeInterval_Minute)', twentyOneSamples)).toBe('[19,20]');
  });

  it('GetSample(start, end) takes the window between two look-backs, in either order', () => {
    // Samples stamped at now - 30 s * (20 - value): 1 to 6 minutes back is values 8..17 (look-back 360 s excluded).
    const window = valueOf('$CPUPercent.GetSample(1 * TimeInterval_Minute, 6 * TimeInterval_Minute)', twentyOneSamples);
    expect(window).toBe('[9,10,11,12,13,14,15,16,17,18]');
    expect(valueOf('$CPUPercent.GetSample(6 * TimeInterval_Minute, 1 * TimeInterval_Minute)', twentyOneSamples)).toBe(window);
  });

  it('accepts timestamps as window ends', () => {
    const env = environment({ now: MONDAY_10AM, samples: { CPUPercent: [1, 2, 3, 4] } });
    expect(valueOf('$CPUPercent.GetSample(time("2024-05-06T09:59:00Z"))', env)).toBe('[3,4]');
    expect(valueOf('$CPUPercent.GetSample(time("2024-05-06T09:58:00Z"), time("2024-05-06T09:59:00Z"))', env)).toBe('[1,2]');
  });

  describe('with a sample percentage', () => {
    // 18 of the 20 samples for the last 10 minutes: the newest minute is missing, as in the article.
    const now = MONDAY_10AM;
    const history = series(now - 60_000, repeat(50, 18));
    const env = { ...environment({ now }), metrics: { samples: { CPUPercent: history } } };

    it('succeeds when enough samples are present (18 of 20 is 90%, 80% required)', () => {
      expect(valueOf('len($CPUPercent.GetSample(TimeInterval_Minute * 10, 80))', env)).toBe('18');
      expect(valueOf('$CPUPercent.GetSamplePercent(TimeInterval_Minute * 10)', env)).toBe('90');
    });

    it('fails the evaluation when fewer are present (90% available, 95% required)', () => {
      const error = errorOf('$TargetDedicatedNodes = 7;\nx = avg($CPUPercent.GetSample(TimeInterval_Minute * 10, 95));', env);
      expect(error.kind).toBe('insufficient-samples');
      expect([error.line, error.column]).toEqual([2, 21]);
      expect(error.message).toBe(
        'GetSample on $CPUPercent: only 90% of the samples (18 of 20) are available in the requested interval, but 95% are required',
      );
    });

    it('leaves the targets unchanged when it fails', () => {
      const result = evaluateFormulaText(
        '$TargetDedicatedNodes = 7; x = $CPUPercent.GetSample(TimeInterval_Minute * 10, 95);',
        { ...env, current: { dedicated: 2, lowPriority: 1 } },
      );
      expect(result.error?.kind).toBe('insufficient-samples');
      expect(result.targetDedicatedNodes).toBe(2);
      expect(result.targetLowPriorityNodes).toBe(1);
      expect(result.variables).toContainEqual({ name: 'x', error: result.error?.message });
    });

    it('applies to the start/end form too', () => {
      // 60 to 120 s back: 2 expected, both present.
      expect(valueOf('$CPUPercent.GetSample(60 * TimeInterval_Second, 120 * TimeInterval_Second, 75)', env)).toBe('[50,50]');
      // 0 to 60 s back: the missing minute.
      expect(errorOf('x = $CPUPercent.GetSample(0 * TimeInterval_Second, 60 * TimeInterval_Second, 75);', env).kind).toBe(
        'insufficient-samples',
      );
    });

    it('requires a percentage between 0 and 100', () => {
      expect(errorOf('x = $CPUPercent.GetSample(TimeInterval_Minute, 101);', env).kind).toBe('out-of-range');
    });
  });

  it('rejects arguments of the wrong type', () => {
    expect(errorOf('x = $CPUPercent.GetSample("ten minutes");').kind).toBe('type');
    expect(errorOf('x = $CPUPercent.GetSample(TimeInterval_Minute, 50, 50);').kind).toBe('type');
    expect(errorOf('x = $CPUPercent.GetSample(5, 50);').kind).toBe('argument-count');
    expect(errorOf('x = $CPUPercent.GetSample(TimeInterval_Zero);').kind).toBe('argument');
  });

  it('ignores samples stamped after the evaluation time', () => {
    const env = environment({ samples: { PendingTasks: [1, 2] } });
    env.metrics.samples.PendingTasks = [...env.metrics.samples.PendingTasks!, { timestamp: env.now + 30_000, value: 99 }];
    expect(valueOf('$PendingTasks.GetSample(1)', env)).toBe('[2]');
  });
});

describe('the other sample methods', () => {
  const env = environment({ samples: { RunningTasks: [4, 5, 6] } });

  it('GetSamplePercent returns the percentage of expected samples present', () => {
    expect(valueOf('$RunningTasks.GetSamplePercent(TimeInterval_Minute * 3)', env)).toBe('50');
    expect(valueOf('$RunningTasks.GetSamplePercent(TimeInterval_Minute * 3, TimeInterval_Minute)', env)).toBe('25');
    expect(valueOf('$ActiveTasks.GetSamplePercent(TimeInterval_Minute)', env)).toBe('0');
  });

  it('GetSamplePeriod is 30 seconds', () => {
    expect(valueOf('$RunningTasks.GetSamplePeriod()', env)).toBe('00:00:30');
  });

  it('Count is the number of samples in the history', () => {
    expect(valueOf('$RunningTasks.Count()', env)).toBe('3');
    expect(valueOf('$ActiveTasks.Count()', env)).toBe('0');
  });

  it('HistoryBeginTime is the oldest sample', () => {
    expect(valueOf('$RunningTasks.HistoryBeginTime()', env)).toBe('2024-05-06T09:59:00.000Z');
    expect(errorOf('x = $ActiveTasks.HistoryBeginTime();', env).kind).toBe('argument');
  });
});

describe('metrics read as numbers', () => {
  it('use the plain count, or failing that the newest sample', () => {
    const env = environment({ counts: { PendingTasks: 12 }, samples: { PendingTasks: [3], ActiveTasks: [1, 5] } });
    expect(valueOf('$PendingTasks', env)).toBe('12');
    expect(valueOf('$ActiveTasks + 1', env)).toBe('6');
    expect(errorOf('x = $FailedTasks;', env).kind).toBe('argument');
  });

  it('$CurrentDedicatedNodes and $CurrentLowPriorityNodes are the pool current sizes', () => {
    const env = environment({ dedicated: 4, lowPriority: 9 });
    expect(valueOf('$CurrentDedicatedNodes * 10 + $CurrentLowPriorityNodes', env)).toBe('49');
  });
});
