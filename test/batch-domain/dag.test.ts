import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addTasksToRun,
  BatchError,
  DAG_STEP,
  onTaskEnded,
  startRun,
  TaskDag,
  upstreamFailureInfo,
  type DagTaskInput,
} from '../../shared/batch/index.js';
import { caught } from '../support/caught.js';
import { driveSteps } from '../support/drive-steps.js';

const t = (id: string, taskIds: string[] = [], taskIdRanges: { start: number; end: number }[] = []): DagTaskInput => ({ id, dependsOn: { taskIds, taskIdRanges } });


describe('TaskDag', () => {
  it('orders tasks topologically and answers dependency questions case-insensitively', () => {
    const dag = TaskDag.of([t('c', ['B', 'a']), t('b', ['a']), t('a')]);
    const order = dag.topologicalOrder();
    expect(order.indexOf('a')).toBeLessThan(order.indexOf('b'));
    expect(order.indexOf('b')).toBeLessThan(order.indexOf('c'));
    expect(dag.dependenciesOf('C').sort()).toEqual(['a', 'b']);
    expect(dag.dependentsOf('a').sort()).toEqual(['b', 'c']);
    expect(dag.has('A')).toBe(true);
  });

  it('resolves ranges over integer ids only, ignoring leading zeros, and allows empty ranges', () => {
    const dag = TaskDag.of([t('1'), t('02'), t('3x'), t('10'), t('merge', [], [{ start: 1, end: 3 }]), t('none', [], [{ start: 100, end: 200 }])]);
    expect(dag.dependenciesOf('merge').sort()).toEqual(['02', '1']);
    expect(dag.dependenciesOf('none')).toEqual([]);
  });

  it('rejects unknown dependencies, cycles and duplicates without changing the DAG', () => {
    const dag = TaskDag.of([t('a'), t('1')]);
    expect(caught(() => dag.addTasks([t('b', ['zzz'])])).code).toBe('TaskDependencyNotFound');
    const cycle = caught(() => dag.addTasks([t('x', ['y']), t('y', ['x', 'a'])]));
    expect(cycle.code).toBe('TaskDependencyCycle');
    expect(cycle.valueFor('Cycle')).toBe('x -> y -> x');
    expect(caught(() => dag.addTasks([t('A')])).code).toBe('TaskExists');
    expect(caught(() => dag.addTasks([t('2'), t('r', [], [{ start: 2, end: 1 }])])).code).toBe('InvalidPropertyValue');
    expect(dag.size).toBe(2);
    expect(dag.has('x')).toBe(false);
    expect(dag.has('2')).toBe(false);
    // The integer index was rolled back too: a later range must not see the rejected '2'.
    dag.addTasks([t('r', [], [{ start: 0, end: 9 }])]);
    expect(dag.dependenciesOf('r')).toEqual(['1']);
  });

  it('grows: new tasks depend on existing ones, and existing ranges never gain members', () => {
    const dag = TaskDag.of([t('1'), t('sum', [], [{ start: 1, end: 5 }])]);
    dag.addTasks([t('2'), t('late', ['sum'], [{ start: 1, end: 5 }])]);
    expect(dag.dependenciesOf('sum')).toEqual(['1']);
    expect(dag.dependenciesOf('late').sort()).toEqual(['1', '2', 'sum']);
    expect(dag.topologicalOrder().slice(-2)).toEqual(['2', 'late']);
  });

  it('handles a 100,000-task chain and fan-in quickly', () => {
    const n = 100_000;
    const tasks: DagTaskInput[] = [];
    for (let i = 0; i < n; i++) tasks.push(t(`t${i}`, i === 0 ? [] : [`t${i - 1}`]));
    tasks.push(t('all', [], [{ start: 0, end: n }]));
    for (let i = 0; i < n; i++) tasks.push({ id: String(i) });
    const started = performance.now();
    const dag = TaskDag.of(tasks);
    const { run, change } = startRun(dag);
    let ready = change.nowReady;
    let ended = 0;
    while (ready.length > 0) {
      const next: string[] = [];
      for (const id of ready) {
        next.push(...onTaskEnded(run, id, { dependencyAction: 'satisfy' }).nowReady);
        ended++;
      }
      ready = next;
    }
    expect(ended).toBe(2 * n + 1);
    expect(run.finished).toBe(true);
    // Generous bound: catches quadratic behaviour (which would take minutes), not slow machines.
    expect(performance.now() - started).toBeLessThan(30_000);
  });
});

describe('dependency outcomes', () => {
  it('releases dependents when all dependencies satisfy', () => {
    const { run, change } = startRun(TaskDag.of([t('a'), t('b'), t('c', ['a', 'b'])]));
    expect(change.nowReady).toEqual(['a', 'b']);
    expect(onTaskEnded(run, 'a', { dependencyAction: 'satisfy' }).nowReady).toEqual([]);
    expect(onTaskEnded(run, 'b', { dependencyAction: 'satisfy' }).nowReady).toEqual(['c']);
    expect(run.statusOf('c')).toBe('ready');
  });

  it('fails blocked dependents with UpstreamTaskFailed, down the whole DAG', () => {
    const { run } = startRun(TaskDag.of([t('a'), t('b', ['a']), t('c', ['b']), t('d', ['a']), t('e')]));
    const change = onTaskEnded(run, 'a', { dependencyAction: 'block' });
    expect(change.nowReady).toEqual([]);
    expect(change.nowFailedUpstream).toHaveLength(3);
    expect(change.nowFailedUpstream).toEqual(
      expect.arrayContaining([
        { taskId: 'b', upstreamTaskId: 'a', rootTaskId: 'a' },
        { taskId: 'd', upstreamTaskId: 'a', rootTaskId: 'a' },
        { taskId: 'c', upstreamTaskId: 'b', rootTaskId: 'a' },
      ]),
    );
    expect(change.nowFailedUpstream.map((f) => f.taskId).sort()).toEqual(['b', 'c', 'd']);
    expect(run.statusOf('c')).toBe('failedUpstream');
    const info = upstreamFailureInfo(change.nowFailedUpstream.find((f) => f.taskId === 'c')!);
    expect(info.code).toBe('UpstreamTaskFailed');
    expect(info.message).toContain("'b'");
    expect(info.message).toContain("'a'");
    expect(run.finished).toBe(false);
    onTaskEnded(run, 'e', { dependencyAction: 'satisfy' });
    expect(run.finished).toBe(true);
  });

  it('ignores a duplicate end report', () => {
    const { run } = startRun(TaskDag.of([t('a'), t('b', ['a'])]));
    expect(onTaskEnded(run, 'a', { dependencyAction: 'satisfy' }).nowReady).toEqual(['b']);
    expect(onTaskEnded(run, 'a', { dependencyAction: 'block' })).toEqual({ nowReady: [], nowFailedUpstream: [] });
    expect(run.statusOf('b')).toBe('ready');
  });

  it('lets the first of "4" and "04" to satisfy meet the range value', () => {
    const { run } = startRun(TaskDag.of([t('4'), t('04'), t('after', [], [{ start: 4, end: 4 }])]));
    expect(onTaskEnded(run, '04', { dependencyAction: 'block' }).nowFailedUpstream).toEqual([]);
    expect(onTaskEnded(run, '4', { dependencyAction: 'satisfy' }).nowReady).toEqual(['after']);

    const second = startRun(TaskDag.of([t('4'), t('04'), t('after', [], [{ start: 4, end: 4 }])])).run;
    onTaskEnded(second, '4', { dependencyAction: 'block' });
    expect(onTaskEnded(second, '04', { dependencyAction: 'block' }).nowFailedUpstream.map((f) => f.taskId)).toEqual(['after']);
  });

  it('admits tasks added during a run against what already happened', () => {
    const { run } = startRun(TaskDag.of([t('ok'), t('bad'), t('waiting')]));
    onTaskEnded(run, 'ok', { dependencyAction: 'satisfy' });
    onTaskEnded(run, 'bad', { dependencyAction: 'block' });
    const change = addTasksToRun(run, [t('n1', ['ok']), t('n2', ['bad']), t('n3', ['n2']), t('n4', ['waiting', 'ok']), t('n5')]);
    expect(change.nowReady.sort()).toEqual(['n1', 'n5']);
    expect(change.nowFailedUpstream).toEqual([
      { taskId: 'n2', upstreamTaskId: 'bad', rootTaskId: 'bad' },
      { taskId: 'n3', upstreamTaskId: 'n2', rootTaskId: 'bad' },
    ]);
    expect(onTaskEnded(run, 'waiting', { dependencyAction: 'satisfy' }).nowReady).toEqual(['n4']);
  });

  it('rejects unknown task ids', () => {
    const { run } = startRun(TaskDag.of([t('a')]));
    expect(caught(() => onTaskEnded(run, 'nope', { dependencyAction: 'satisfy' })).code).toBe('TaskNotFound');
  });
});

describe('random DAGs (property)', () => {
  // Node i has id String(floor(i / 2)) with (i % 2) leading zeros, so pairs of tasks share an
  // integer value ("3" and "03") and ranges exercise Batch's any-of rule for such pairs.
  const idOf = (i: number) => '0'.repeat(i % 2) + String(Math.floor(i / 2));
  const valueOf = (i: number) => Math.floor(i / 2);

  const graphArb = fc.integer({ min: 1, max: 10 }).chain((n) =>
    fc.record({
      n: fc.constant(n),
      explicit: fc.array(fc.array(fc.integer({ min: 0, max: n - 1 }), { maxLength: 3 }), { minLength: n, maxLength: n }),
      ranges: fc.array(fc.array(fc.tuple(fc.integer({ min: 0, max: n }), fc.integer({ min: 0, max: 2 })), { maxLength: 1 }), { minLength: n, maxLength: n }),
    }),
  );

  it('the cycle detector agrees with a brute-force reachability check', () => {
    fc.assert(
      fc.property(graphArb, ({ n, explicit, ranges }) => {
        const tasks = Array.from({ length: n }, (_, i) => t(idOf(i), explicit[i]!.map(idOf), ranges[i]!.map(([start, width]) => ({ start, end: start + width }))));
        // Brute force: Floyd-Warshall closure over every edge (range members all count).
        const reach = Array.from({ length: n }, () => new Array<boolean>(n).fill(false));
        for (let i = 0; i < n; i++) {
          for (const j of explicit[i]!) reach[i]![j] = true;
          for (const [start, width] of ranges[i]!) for (let j = 0; j < n; j++) if (valueOf(j) >= start && valueOf(j) <= start + width) reach[i]![j] = true;
        }
        for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (reach[i]![k] && reach[k]![j]) reach[i]![j] = true;
        const hasCycle = reach.some((row, i) => row[i]);
        let thrown: BatchError | undefined;
        try {
          TaskDag.of(tasks);
        } catch (error) {
          thrown = error as BatchError;
        }
        expect(thrown?.code).toBe(hasCycle ? 'TaskDependencyCycle' : undefined);
        if (thrown) {
          // The reported cycle is real: each task depends on the next, the last on the first.
          const cycle = thrown.valueFor('Cycle')!.split(' -> ');
          const indexOfId = (id: string) => Array.from({ length: n }, (_, i) => i).find((i) => idOf(i) === id)!;
          for (let k = 0; k + 1 < cycle.length; k++) expect(reach[indexOfId(cycle[k]!)]![indexOfId(cycle[k + 1]!)]).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  const acyclicArb = fc.integer({ min: 1, max: 40 }).chain((n) =>
    fc.record({
      n: fc.constant(n),
      explicit: fc.array(fc.array(fc.nat(), { maxLength: 3 }), { minLength: n, maxLength: n }),
      ranges: fc.array(fc.option(fc.tuple(fc.nat(), fc.nat({ max: 3 })), { nil: undefined }), { minLength: n, maxLength: n }),
      outcomes: fc.array(fc.constantFrom('satisfy', 'block', 'satisfy'), { minLength: n, maxLength: n }),
      picks: fc.array(fc.nat(), { minLength: n, maxLength: n }),
      batches: fc.array(fc.nat({ max: 3 }), { minLength: 1, maxLength: 4 }),
    }),
  );

  it('a random execution never starts a task before its dependencies end, and ends every task', () => {
    fc.assert(
      fc.property(acyclicArb, ({ n, explicit, ranges, outcomes, picks, batches }) => {
        // Edges only point to earlier nodes; range values are those whose both spellings are earlier.
        const deps: number[][] = [];
        const groups: number[][][] = [];
        const tasks = Array.from({ length: n }, (_, i) => {
          const explicitDeps = i === 0 ? [] : [...new Set(explicit[i]!.map((d) => d % i))];
          deps.push(explicitDeps);
          const maxValue = Math.floor((i - 2) / 2);
          const range = ranges[i];
          const taskIdRanges: { start: number; end: number }[] = [];
          const rangeGroups: number[][] = [];
          if (range && maxValue >= 0) {
            const start = range[0] % (maxValue + 1);
            const end = Math.min(start + range[1], maxValue);
            taskIdRanges.push({ start, end });
            for (let v = start; v <= end; v++) rangeGroups.push([2 * v, 2 * v + 1]);
          }
          groups.push(rangeGroups);
          return t(idOf(i), explicitDeps.map(idOf), taskIdRanges);
        });

        // Add in several batches, as addtaskcollection would.
        const { run, change: initial } = startRun(TaskDag.of([]));
        const ready: number[] = [];
        const status = new Array<'waiting' | 'ready' | 'ended' | 'failed'>(n).fill('waiting');
        const outcomeOf = new Array<'satisfy' | 'block' | undefined>(n);
        const absorb = (change: { nowReady: string[]; nowFailedUpstream: { taskId: string; upstreamTaskId: string }[] }) => {
          for (const id of change.nowReady) {
            const i = Array.from({ length: n }, (_, k) => k).find((k) => idOf(k) === id)!;
            expect(status[i]).toBe('waiting');
            // Readiness: every explicit dependency satisfied, every range value met by some spelling.
            for (const d of deps[i]!) expect(outcomeOf[d]).toBe('satisfy');
            for (const group of groups[i]!) expect(group.some((m) => outcomeOf[m] === 'satisfy')).toBe(true);
            status[i] = 'ready';
            ready.push(i);
          }
          for (const failure of change.nowFailedUpstream) {
            const i = Array.from({ length: n }, (_, k) => k).find((k) => idOf(k) === failure.taskId)!;
            const u = Array.from({ length: n }, (_, k) => k).find((k) => idOf(k) === failure.upstreamTaskId)!;
            expect(status[i]).toBe('waiting');
            expect(outcomeOf[u]).toBe('block');
            status[i] = 'failed';
            outcomeOf[i] = 'block';
          }
        };
        absorb(initial);
        let added = 0;
        for (const size of batches) {
          const take = Math.min(n - added, size + 1);
          if (take <= 0) break;
          absorb(addTasksToRun(run, tasks.slice(added, added + take)));
          added += take;
        }
        if (added < n) absorb(addTasksToRun(run, tasks.slice(added)));

        let step = 0;
        while (ready.length > 0) {
          const [i] = ready.splice(picks[step++ % n]! % ready.length, 1);
          status[i!] = 'ended';
          outcomeOf[i!] = outcomes[i!] as 'satisfy' | 'block';
          absorb(onTaskEnded(run, idOf(i!), { dependencyAction: outcomeOf[i!]! }));
        }
        expect(status.every((s) => s === 'ended' || s === 'failed')).toBe(true);
        expect(run.finished).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('TaskDag.ofInSteps', () => {
  const tree = (n: number): DagTaskInput[] => Array.from({ length: n }, (_, i) => ({ id: `t${i}`, ...(i > 0 ? { dependsOn: { taskIds: [`t${(i - 1) >> 1}`] } } : {}) }));

  it('pauses every DAG_STEP tasks of its long phases and builds the DAG TaskDag.of builds', () => {
    const tasks = tree(4 * DAG_STEP);
    const { yields, value } = driveSteps(TaskDag.ofInSteps(tasks));
    expect(yields).toBeGreaterThanOrEqual(8);
    const atOnce = TaskDag.of(tasks);
    expect(value.topologicalOrder()).toEqual(atOnce.topologicalOrder());
    for (const id of ['t0', 't1', 't1234', 't3999']) {
      expect(value.dependenciesOf(id)).toEqual(atOnce.dependenciesOf(id));
      expect(value.dependentsOf(id)).toEqual(atOnce.dependentsOf(id));
    }
  });

  it('does not pause for fewer tasks than a step, and refuses what TaskDag.of refuses', () => {
    expect(driveSteps(TaskDag.ofInSteps(tree(DAG_STEP - 1))).yields).toBe(0);
    const cyclic = tree(2 * DAG_STEP).map((t, i) => (i === 0 ? { ...t, dependsOn: { taskIds: ['t1999'] } } : t));
    const error = caught(() => TaskDag.of(cyclic));
    expect(error.code).toBe('TaskDependencyCycle');
    expect(caught(() => driveSteps(TaskDag.ofInSteps(cyclic)))).toEqual(error);
  });
});
