import { describe, expect, it } from 'vitest';
import { evaluateFormula, parseFormula } from '../../shared/autoscale/index.js';
import { MONDAY_10AM, environment, repeat } from './helpers.js';
import {
  EXAMPLE_1_TIME_BASED,
  EXAMPLE_2_TASK_BASED,
  EXAMPLE_3_PARALLEL_TASKS,
  SAMPLE_PENDING_TASKS,
  SAMPLE_PREEMPTED_NODES,
  WRITE_A_FORMULA_CPU,
  example4InitialPoolSize,
} from './article-formulas.js';

// Each of the article's formulas driven into its documented outcomes.

describe('Example 1: time-based adjustment', () => {
  const formula = parseFormula(EXAMPLE_1_TIME_BASED);

  it('uses 20 nodes during working hours on a weekday and prints results as Batch does', () => {
    const result = evaluateFormula(formula, environment({ now: MONDAY_10AM, dedicated: 3 }));
    expect(result.error).toBeUndefined();
    expect(result.targetDedicatedNodes).toBe(20);
    expect(result.nodeDeallocationOption).toBe('taskcompletion');
    expect(result.results).toBe(
      '$TargetDedicatedNodes=20;$TargetLowPriorityNodes=0;$NodeDeallocationOption=taskcompletion;' +
        '$curTime=2024-05-06T10:00:00.000Z;$isWeekday=1;$isWorkingWeekdayHour=1;$workHours=1',
    );
  });

  it('uses 10 nodes in the evening and at weekends', () => {
    const evening = evaluateFormula(formula, environment({ now: Date.parse('2024-05-08T18:00:00Z') }));
    expect(evening.targetDedicatedNodes).toBe(10);
    expect(evening.results).toContain('$workHours=0');
    const saturday = evaluateFormula(formula, environment({ now: Date.parse('2024-05-11T10:00:00Z') }));
    expect(saturday.targetDedicatedNodes).toBe(10);
    expect(saturday.results).toContain('$isWeekday=0');
    const sunday = evaluateFormula(formula, environment({ now: Date.parse('2024-05-12T10:00:00Z') }));
    expect(sunday.targetDedicatedNodes).toBe(10);
  });

  it("shifts to a local time zone with the article's time() + (-6 * TimeInterval_Hour)", () => {
    const mdt = EXAMPLE_1_TIME_BASED.replace('$curTime = time();', '$curTime = time() + (-6 * TimeInterval_Hour);');
    // 10:00 UTC is 04:00 MDT: outside working hours.
    expect(evaluateFormula(parseFormula(mdt), environment({ now: MONDAY_10AM })).targetDedicatedNodes).toBe(10);
    // 16:00 UTC is 10:00 MDT.
    const afternoon = Date.parse('2024-05-06T16:00:00Z');
    expect(evaluateFormula(parseFormula(mdt), environment({ now: afternoon })).targetDedicatedNodes).toBe(20);
  });
});

describe('Example 2: task-based adjustment', () => {
  const formula = parseFormula(EXAMPLE_2_TASK_BASED);

  it('with a full 15-minute history, uses the larger of the last sample and the average', () => {
    // 30 samples (100%): 29 of 8 pending then 12; max(12, avg 8.13) = 12.
    const env = environment({ samples: { PendingTasks: [...repeat(8, 29), 12] } });
    const result = evaluateFormula(formula, env);
    expect(result.error).toBeUndefined();
    expect(result.targetDedicatedNodes).toBe(12);
    expect(result.results).toContain('$samples=100;');
    expect(result.results).toMatch(/;\$tasks=12$/);
  });

  it('uses the average when it is above the last sample', () => {
    // avg = (29*10 + 1)/30 = 9.7, above the last sample 1; truncated to 9 nodes.
    const result = evaluateFormula(formula, environment({ samples: { PendingTasks: [...repeat(10, 29), 1] } }));
    expect(result.targetDedicatedNodes).toBe(9);
  });

  it('with under 70% of the samples, uses the last sample point', () => {
    // 20 of 30 samples = 66.7%.
    const result = evaluateFormula(formula, environment({ samples: { PendingTasks: [...repeat(15, 19), 3] } }));
    expect(result.targetDedicatedNodes).toBe(3);
  });

  it('with no pending tasks, halves the current dedicated target', () => {
    const result = evaluateFormula(formula, environment({ dedicated: 6, samples: { PendingTasks: repeat(0, 30) } }));
    expect(result.targetDedicatedNodes).toBe(3);
    expect(result.nodeDeallocationOption).toBe('taskcompletion');
  });

  it('caps the pool at 20 nodes', () => {
    const result = evaluateFormula(formula, environment({ samples: { PendingTasks: repeat(500, 30) } }));
    expect(result.targetDedicatedNodes).toBe(20);
  });
});

describe('Example 3: accounting for parallel tasks', () => {
  const formula = parseFormula(EXAMPLE_3_PARALLEL_TASKS);

  it('adds a node per four active tasks beyond current capacity, at most 3 nodes', () => {
    // 1 node x 4 slots; 9 tasks: extra = (9 - 4 + 3) / 4 = 2, so 3 nodes.
    const nine = evaluateFormula(formula, environment({ dedicated: 1, samples: { ActiveTasks: repeat(9, 30) } }));
    expect(nine.error).toBeUndefined();
    expect(nine.targetDedicatedNodes).toBe(3);
    // 5 tasks: extra = (5 - 4 + 3) / 4 = 1, so 2 nodes.
    const five = evaluateFormula(formula, environment({ dedicated: 1, samples: { ActiveTasks: repeat(5, 30) } }));
    expect(five.targetDedicatedNodes).toBe(2);
    // 100 tasks: capped at 3.
    const many = evaluateFormula(formula, environment({ dedicated: 1, samples: { ActiveTasks: repeat(100, 30) } }));
    expect(many.targetDedicatedNodes).toBe(3);
  });

  it('shrinks when there are no active tasks, truncating the fractional target as Batch does', () => {
    // extra = (0 - 4 + 3) / 4 = -0.25; target 0.75 truncates to 0.
    const result = evaluateFormula(formula, environment({ dedicated: 1, samples: { ActiveTasks: repeat(0, 30) } }));
    expect(result.targetDedicatedNodes).toBe(0);
    expect(result.results).toContain('$targetVMs=0.75');
  });
});

describe('Example 4: setting an initial pool size', () => {
  const startedAt = Date.parse('2024-05-06T09:00:00Z');
  const formula = parseFormula(example4InitialPoolSize(startedAt));
  const minutesAfterStart = (minutes: number): number => startedAt + minutes * 60_000;

  it('keeps four nodes during the first 10 minutes, even with no samples yet', () => {
    const result = evaluateFormula(formula, environment({ now: minutesAfterStart(5), dedicated: 0 }));
    expect(result.error).toBeUndefined();
    expect(result.targetDedicatedNodes).toBe(4);
  });

  it('after 10 minutes, scales to 0 when no tasks were running or active in the last 60 minutes', () => {
    const env = environment({
      now: minutesAfterStart(70),
      dedicated: 4,
      samples: { RunningTasks: repeat(0, 120), ActiveTasks: repeat(0, 120) },
    });
    const result = evaluateFormula(formula, env);
    expect(result.error).toBeUndefined();
    expect(result.targetDedicatedNodes).toBe(0);
  });

  it('after 10 minutes, makes no change while tasks are running or active', () => {
    const env = environment({
      now: minutesAfterStart(70),
      dedicated: 4,
      samples: { RunningTasks: [...repeat(0, 119), 2], ActiveTasks: repeat(0, 120) },
    });
    expect(evaluateFormula(formula, env).targetDedicatedNodes).toBe(4);
  });

  it('fails, leaving the pool as it is, when under 50% of the hour has been sampled', () => {
    // 20 minutes after start: 40 of the 120 expected samples (33%).
    const env = environment({
      now: minutesAfterStart(20),
      dedicated: 4,
      samples: { RunningTasks: repeat(0, 40), ActiveTasks: repeat(0, 40) },
    });
    const result = evaluateFormula(formula, env);
    expect(result.error?.kind).toBe('insufficient-samples');
    expect(result.error?.line).toBe(8);
    expect(result.targetDedicatedNodes).toBe(4);
    expect(result.variables.find((v) => v.name === '$TargetDedicatedNodes')?.error).toMatch(/50% are required/);
  });
});

describe("the article's sample formulas", () => {
  it('pending tasks: starts at one VM, then follows the 3-minute average, capped at 25', () => {
    const formula = parseFormula(SAMPLE_PENDING_TASKS);
    expect(evaluateFormula(formula, environment({ samples: { PendingTasks: [7] } })).targetDedicatedNodes).toBe(1);
    expect(evaluateFormula(formula, environment({ samples: { PendingTasks: [4, 6, 8, 10, 12, 14] } })).targetDedicatedNodes).toBe(9);
    expect(evaluateFormula(formula, environment({ samples: { PendingTasks: repeat(90, 6) } })).targetDedicatedNodes).toBe(25);
  });

  it('preempted nodes: replaces preempted low-priority nodes with dedicated ones', () => {
    const formula = parseFormula(SAMPLE_PREEMPTED_NODES);
    const result = evaluateFormula(formula, environment({ samples: { PreemptedNodeCount: repeat(3, 6) } }));
    expect(result.error).toBeUndefined();
    expect(result.targetDedicatedNodes).toBe(3);
    expect(result.targetLowPriorityNodes).toBe(22);
    expect(result.results.startsWith('$TargetDedicatedNodes=3;$TargetLowPriorityNodes=22;$NodeDeallocationOption=taskcompletion;')).toBe(true);
  });

  it('CPU formula: grows 10% under high CPU, shrinks 10% when idle, never above 400', () => {
    const formula = parseFormula(WRITE_A_FORMULA_CPU);
    const busy = evaluateFormula(formula, environment({ dedicated: 10, samples: { CPUPercent: repeat(0.9, 120) } }));
    expect(busy.targetDedicatedNodes).toBe(11);
    const idle = evaluateFormula(formula, environment({ dedicated: 10, samples: { CPUPercent: repeat(0.1, 120) } }));
    expect(idle.targetDedicatedNodes).toBe(9);
    const steady = evaluateFormula(formula, environment({ dedicated: 10, samples: { CPUPercent: repeat(0.5, 120) } }));
    expect(steady.targetDedicatedNodes).toBe(10);
    const huge = evaluateFormula(formula, environment({ dedicated: 1000, samples: { CPUPercent: repeat(0.9, 120) } }));
    expect(huge.targetDedicatedNodes).toBe(400);
  });
});
