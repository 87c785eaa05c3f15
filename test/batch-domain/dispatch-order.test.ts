import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHAIN_HEIGHT_CAP, DispatchOrder, TaskDag, type DagTaskInput } from '../../shared/batch/index.js';

const t = (id: string, taskIds: string[] = [], taskIdRanges: { start: number; end: number }[] = []): DagTaskInput => ({ id, dependsOn: { taskIds, taskIdRanges } });

/** Longest chain of dependents, counted in tasks, straight from the definition. */
function heightsFromScratch(dag: TaskDag): Map<string, number> {
  const heights = new Map<string, number>();
  const ids = dag.topologicalOrder();
  for (let i = ids.length - 1; i >= 0; i--) {
    const id = ids[i]!;
    heights.set(id, 1 + Math.max(0, ...dag.dependentsOf(id).map((d) => heights.get(d)!)));
  }
  return heights;
}

describe('DispatchOrder', () => {
  it('counts the longest chain of dependents, through ranges too', () => {
    // a -> b -> d, a -> c, and '1' is in merge's range
    const dag = TaskDag.of([t('a'), t('b', ['a']), t('c', ['a']), t('d', ['b']), t('1'), t('merge', [], [{ start: 1, end: 1 }])]);
    const order = new DispatchOrder(dag);
    expect(['a', 'b', 'c', 'd', '1', 'merge'].map((id) => order.heightOf(id))).toEqual([3, 2, 1, 1, 2, 1]);
  });

  it('hands out the longest chains first, and equal ones in the order they were added', () => {
    const dag = TaskDag.of([t('short1'), t('short2'), t('long'), t('x', ['long']), t('y', ['x']), t('mid'), t('z', ['mid'])]);
    const order = new DispatchOrder(dag);
    for (const id of ['short1', 'short2', 'long', 'mid']) order.push(id);
    expect(order.size).toBe(4);
    expect(order.take(1)).toEqual(['long']);
    expect(order.take(10)).toEqual(['mid', 'short1', 'short2']);
    expect(order.size).toBe(0);
    expect(order.take(1)).toEqual([]);
  });

  it('queues a task once however often it is pushed, and again after it was taken', () => {
    const order = new DispatchOrder(TaskDag.of([t('a'), t('b')]));
    order.push('b');
    order.push('b');
    order.push('a');
    expect(order.size).toBe(2);
    expect(order.take(5)).toEqual(['a', 'b']);
    order.push('b');
    expect(order.take(5)).toEqual(['b']);
  });

  it('raises existing tasks when added tasks lengthen their chains, queued ones included', () => {
    const dag = TaskDag.of([t('p'), t('q'), t('r')]);
    const order = new DispatchOrder(dag);
    for (const id of ['p', 'q', 'r']) order.push(id);
    dag.addTasks([t('r1', ['r']), t('r2', ['r1']), t('q1', ['q'])]);
    order.admitNewNodes();
    expect(order.heightOf('r')).toBe(3);
    expect(order.heightOf('q')).toBe(2);
    expect(order.take(3)).toEqual(['r', 'q', 'p']);
    expect(order.size).toBe(0);
  });

  it('caps heights, so a chain added a task at a time costs a bounded number of raises', () => {
    const dag = TaskDag.of([t('c0')]);
    const order = new DispatchOrder(dag);
    const length = CHAIN_HEIGHT_CAP + 50;
    for (let i = 1; i < length; i++) {
      dag.addTasks([t(`c${i}`, [`c${i - 1}`])]);
      order.admitNewNodes();
    }
    expect(order.heightOf('c0')).toBe(CHAIN_HEIGHT_CAP);
    expect(order.heightOf(`c${length - CHAIN_HEIGHT_CAP}`)).toBe(CHAIN_HEIGHT_CAP);
    expect(order.heightOf(`c${length - 2}`)).toBe(2);
    expect(order.heightOf(`c${length - 1}`)).toBe(1);
  });

  it('refuses a task the DAG does not have', () => {
    const order = new DispatchOrder(TaskDag.of([t('a')]));
    expect(() => order.push('nope')).toThrow(RangeError);
    expect(() => order.heightOf('nope')).toThrow(RangeError);
  });

  it('keeps the same heights whether a DAG is added at once or in pieces, and takes in height order', () => {
    const dagArb = fc.integer({ min: 1, max: 40 }).chain((n) =>
      fc.tuple(
        fc.array(fc.array(fc.nat(), { maxLength: 3 }), { minLength: n, maxLength: n }),
        fc.array(fc.integer({ min: 1, max: n }), { maxLength: 5 }),
        fc.array(fc.boolean(), { minLength: n, maxLength: n }),
      ),
    );
    fc.assert(
      fc.property(dagArb, ([depPicks, cuts, queuedFlags]) => {
        const tasks = depPicks.map((picks, i) => t(`t${i}`, i === 0 ? [] : [...new Set(picks.map((p) => `t${p % i}`))]));
        const whole = TaskDag.of(tasks);
        const expected = heightsFromScratch(whole);

        const pieces = TaskDag.of([]);
        const order = new DispatchOrder(pieces);
        const bounds = [...new Set([0, ...cuts, tasks.length])].sort((a, b) => a - b);
        for (let i = 1; i < bounds.length; i++) {
          pieces.addTasks(tasks.slice(bounds[i - 1], bounds[i]));
          order.admitNewNodes();
          // Some tasks wait in the queue while later pieces raise them.
          tasks.slice(bounds[i - 1], bounds[i]).forEach((task, k) => queuedFlags[bounds[i - 1]! + k] && order.push(task.id));
        }
        for (const task of tasks) expect(order.heightOf(task.id)).toBe(expected.get(task.id));

        const taken = order.take(tasks.length);
        expect(taken.sort()).toEqual(tasks.filter((_, i) => queuedFlags[i]).map((task) => task.id).sort());
      }),
    );
  });

  it('takes in order of height, then of addition, whatever the order of pushes', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.nat(), { maxLength: 2 }), { minLength: 1, maxLength: 30 }), fc.nat(), (depPicks, shuffleSeed) => {
        const tasks = depPicks.map((picks, i) => t(`t${i}`, i === 0 ? [] : [...new Set(picks.map((p) => `t${p % i}`))]));
        const dag = TaskDag.of(tasks);
        const order = new DispatchOrder(dag);
        const ids = tasks.map((task) => task.id);
        const pushes = ids.map((id, i) => ({ id, key: (i * 7919 + shuffleSeed) % 104729 })).sort((a, b) => a.key - b.key);
        for (const { id } of pushes) order.push(id);
        const taken: string[] = [];
        for (let batch = 1; order.size; batch++) taken.push(...order.take(batch));
        const expected = [...ids].sort((a, b) => order.heightOf(b) - order.heightOf(a) || dag.nodeOf(a)! - dag.nodeOf(b)!);
        expect(taken).toEqual(expected);
      }),
    );
  });
});
