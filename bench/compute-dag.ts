// The workloads of the compute benchmark, as plain data both runners (fnbatch and ninja) consume:
// independent no-op tasks, and a seeded random DAG of short sleeps with its makespan lower bound.
import { seededRandom } from '../shared/seeded-random.js';

export interface BenchTask {
  id: string;
  /** How long the task sleeps; 0 for a no-op (`/bin/true`). */
  durationMs: number;
  /** Ids of tasks that must end before this one starts; all earlier in the list. */
  deps: string[];
}

/** `count` independent tasks that do nothing. */
export function noOpTasks(count: number): BenchTask[] {
  return Array.from({ length: count }, (_, i) => ({ id: `t${i}`, durationMs: 0, deps: [] }));
}

/**
 * `count` sleep tasks of minMs..maxMs each; task i depends on up to three earlier tasks (each
 * picked with probability 0.6, uniformly among 0..i-1), the shape of the end-to-end DAG test.
 */
export function randomSleepDag(count: number, seed: number, minMs = 50, maxMs = 200): BenchTask[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const deps = new Set<string>();
    if (i > 0) for (let k = 0; k < 3; k++) if (random() < 0.6) deps.add(`t${Math.floor(random() * i)}`);
    const durationMs = minMs + Math.floor(random() * (maxMs - minMs + 1));
    return { id: `t${i}`, durationMs, deps: [...deps] };
  });
}

export interface MakespanBound {
  /** The longest chain of durations through the dependencies. */
  criticalPathMs: number;
  totalWorkMs: number;
  /** No schedule on `slots` slots can finish sooner than this. */
  boundMs: number;
}

/** max(critical path, total work / slots); tasks must be listed after their dependencies. */
export function makespanLowerBound(tasks: BenchTask[], slots: number): MakespanBound {
  const finish = new Map<string, number>();
  let criticalPathMs = 0;
  let totalWorkMs = 0;
  for (const task of tasks) {
    let ready = 0;
    for (const dep of task.deps) {
      const depFinish = finish.get(dep);
      if (depFinish === undefined) throw new Error(`task ${task.id} depends on ${dep}, which is not listed before it`);
      ready = Math.max(ready, depFinish);
    }
    const end = ready + task.durationMs;
    finish.set(task.id, end);
    criticalPathMs = Math.max(criticalPathMs, end);
    totalWorkMs += task.durationMs;
  }
  return { criticalPathMs, totalWorkMs, boundMs: Math.max(criticalPathMs, totalWorkMs / slots) };
}

/** The command line both runners execute for a task: no shell, an absolute program path. */
export function commandLineOf(task: BenchTask): string {
  return task.durationMs > 0 ? `/bin/sleep ${(task.durationMs / 1000).toFixed(3)}` : '/bin/true';
}
