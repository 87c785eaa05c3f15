import { describe, expect, it } from 'vitest';
import { MetricHistory, evaluateFormulaText, taskCountReading } from '../../shared/autoscale/index.js';
import { MONDAY_10AM, seededRandom } from './helpers.js';

const START = MONDAY_10AM;

describe('MetricHistory', () => {
  it('keeps one sample per 30-second period, stamped with the period start', () => {
    const history = new MetricHistory();
    history.record(START + 1_000, { PendingTasks: 3 });
    history.record(START + 20_000, { PendingTasks: 5 });
    history.record(START + 31_000, { PendingTasks: 7 });
    expect(history.samples('PendingTasks')).toEqual([
      { timestamp: START, value: 5 },
      { timestamp: START + 30_000, value: 7 },
    ]);
    expect(history.latest('PendingTasks')).toBe(7);
    expect(history.latest('ActiveTasks')).toBeUndefined();
  });

  it('averages the metrics Batch describes as averages', () => {
    const history = new MetricHistory();
    history.record(START, { CPUPercent: 20, DiskReadOps: 1 });
    history.record(START + 10_000, { CPUPercent: 40, DiskReadOps: 2 });
    expect(history.samples('CPUPercent')).toEqual([{ timestamp: START, value: 30 }]);
    expect(history.samples('DiskReadOps')).toEqual([{ timestamp: START, value: 2 }]);
  });

  it('returns samples since a time', () => {
    const history = new MetricHistory();
    for (let i = 0; i < 10; i++) history.record(START + i * 30_000, { RunningTasks: i });
    expect(history.samples('RunningTasks', START + 8 * 30_000).map((s) => s.value)).toEqual([8, 9]);
  });

  it('ignores readings older than the newest sample and non-finite values', () => {
    const history = new MetricHistory();
    history.record(START + 60_000, { ActiveTasks: 1 });
    history.record(START, { ActiveTasks: 99 });
    history.record(START + 90_000, { ActiveTasks: Number.NaN });
    expect(history.samples('ActiveTasks')).toEqual([{ timestamp: START + 60_000, value: 1 }]);
  });

  it('holds memory bounded to its retention however long it runs', () => {
    const history = new MetricHistory({ retentionMs: 60 * 60_000 });
    for (let i = 0; i < 10_000; i++) history.record(START + i * 30_000, { SampleNodeCount: i });
    const samples = history.samples('SampleNodeCount');
    expect(samples).toHaveLength(120);
    expect(samples[0]!.value).toBe(9_880);
    expect(samples[119]!.value).toBe(9_999);
  });

  it('rejects a nonsensical configuration', () => {
    expect(() => new MetricHistory({ periodMs: 0 })).toThrow(RangeError);
    expect(() => new MetricHistory({ periodMs: 30_000, retentionMs: 1_000 })).toThrow(RangeError);
  });

  it('derives $PendingTasks from active and running task counts', () => {
    expect(taskCountReading({ active: 3, running: 4, succeeded: 10, failed: 1 })).toEqual({
      ActiveTasks: 3,
      RunningTasks: 4,
      PendingTasks: 7,
      SucceededTasks: 10,
      FailedTasks: 1,
    });
  });

  it('feeds a formula: 15 minutes of heartbeats every 10 s give 100% of the samples', () => {
    const history = new MetricHistory();
    const random = seededRandom(3);
    let now = START;
    for (let i = 0; i < 90; i++) {
      now = START + i * 10_000;
      history.record(now, taskCountReading({ active: 6 + Math.floor(random() * 3), running: 2 }));
    }
    const env = { now, random, metrics: history.toSource(), current: { dedicated: 1, lowPriority: 0 } };
    const result = evaluateFormulaText(
      'p = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 15); $TargetDedicatedNodes = p >= 100 ? $PendingTasks : 0;',
      env,
    );
    expect(result.error).toBeUndefined();
    expect(result.results).toContain('p=100');
    expect(result.targetDedicatedNodes).toBe(history.latest('PendingTasks'));
    expect(result.targetDedicatedNodes).toBeGreaterThanOrEqual(8);
  });
});
