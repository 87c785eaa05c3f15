import { describe, expect, it } from 'vitest';
import { commandLineOf, makespanLowerBound, noOpTasks, randomSleepDag, type BenchTask } from '../../bench/compute-dag.js';

const task = (id: string, durationMs: number, deps: string[] = []): BenchTask => ({ id, durationMs, deps });

describe('makespan lower bound', () => {
  it('is the critical path when a chain dominates', () => {
    const tasks = [task('a', 100), task('b', 200, ['a']), task('c', 50, ['b']), task('side', 10)];
    expect(makespanLowerBound(tasks, 4)).toEqual({ criticalPathMs: 350, totalWorkMs: 360, boundMs: 350 });
  });

  it('is total work over slots when the DAG is wide', () => {
    const tasks = Array.from({ length: 8 }, (_, i) => task(`w${i}`, 100));
    expect(makespanLowerBound(tasks, 2)).toEqual({ criticalPathMs: 100, totalWorkMs: 800, boundMs: 400 });
  });

  it('takes the longest of several paths into a join', () => {
    const tasks = [task('a', 100), task('b', 300), task('c', 10, ['a']), task('join', 5, ['c', 'b'])];
    expect(makespanLowerBound(tasks, 1).criticalPathMs).toBe(305);
  });

  it('rejects a task listed before its dependency', () => {
    expect(() => makespanLowerBound([task('b', 1, ['a']), task('a', 1)], 1)).toThrow(/depends on a/);
  });
});

describe('workloads', () => {
  it('builds the same random DAG from the same seed, and another from another seed', () => {
    expect(randomSleepDag(200, 7)).toEqual(randomSleepDag(200, 7));
    expect(randomSleepDag(200, 7)).not.toEqual(randomSleepDag(200, 8));
  });

  it('keeps durations within range and dependencies on earlier tasks', () => {
    const dag = randomSleepDag(1000, 4);
    const position = new Map(dag.map((t, i) => [t.id, i]));
    for (const [i, t] of dag.entries()) {
      expect(t.durationMs).toBeGreaterThanOrEqual(50);
      expect(t.durationMs).toBeLessThanOrEqual(200);
      for (const dep of t.deps) expect(position.get(dep)).toBeLessThan(i);
    }
    expect(dag.filter((t) => t.deps.length > 0).length).toBeGreaterThan(500);
  });

  it('runs no-ops as /bin/true and sleeps in seconds with millisecond precision', () => {
    expect(noOpTasks(3).map(commandLineOf)).toEqual(['/bin/true', '/bin/true', '/bin/true']);
    expect(commandLineOf(task('s', 57))).toBe('/bin/sleep 0.057');
    expect(commandLineOf(task('s', 200))).toBe('/bin/sleep 0.200');
  });
});
