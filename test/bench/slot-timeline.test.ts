import { describe, expect, it } from 'vitest';
import { emptySlotTime, overruns, readyTasks, slotHandoffs, slotsFullAt, type RecordedTask } from '../../bench/slot-timeline.js';

const task = (nodeId: string, startMs: number, endMs: number, nominalMs = 0): RecordedTask => ({ nodeId, startMs, endMs, nominalMs });

describe('slot timeline', () => {
  it('measures how much longer each task ran than its command', () => {
    const spread = overruns([task('a', 0, 110, 100), task('a', 0, 130, 100), task('b', 0, 5), task('b', 10, 60, 40)]);
    expect(spread).toEqual({ p50: 10, p90: 10, mean: 13.75, count: 4 });
  });

  it('pairs each start beyond the first slots of a node with the earliest end on that node', () => {
    // Node a, 2 slots: tasks 1 and 2 fill it; 3 takes the slot 1 freed at 100 (gap 5), 4 the one
    // 2 freed at 120 (gap 30). Node b's lone task fills no slot twice: no hand-off.
    const tasks = [task('a', 0, 100), task('a', 0, 120), task('a', 105, 200), task('a', 150, 260), task('b', 0, 50)];
    expect(slotHandoffs(tasks, 2)).toEqual({ p50: 5, p90: 5, mean: 17.5, count: 2 });
  });

  it('counts a start that came before the paired end as no gap, and has nothing to say of nothing', () => {
    const tasks = [task('a', 0, 100), task('a', 90, 150)];
    expect(slotHandoffs(tasks, 1)).toEqual({ p50: 0, p90: 0, mean: 0, count: 1 });
    expect(slotHandoffs([task('a', 0, 1)], 4)).toBeUndefined();
    expect(overruns([])).toBeUndefined();
  });

  it('finds the first moment every slot of the pool was busy, if ever', () => {
    // Three slots: the third task starts at 40, but the first ended at 30; the fourth, at 60, fills them.
    const tasks = [task('a', 0, 30), task('a', 10, 100), task('b', 40, 120), task('b', 60, 90)];
    expect(slotsFullAt(tasks, 3)).toBe(60);
    // A task ending as another starts has left its slot.
    expect(slotsFullAt([task('a', 0, 50), task('b', 50, 80)], 2)).toBeUndefined();
    expect(slotsFullAt(tasks, 4)).toBeUndefined();
    expect(slotsFullAt([], 1)).toBeUndefined();
  });

  it('dates each task ready when the last task it depends on ended, or at submission', () => {
    const runs = new Map([
      ['a', { startMs: 10, endMs: 100 }],
      ['b', { startMs: 5, endMs: 60 }],
      ['c', { startMs: 130, endMs: 200 }],
      // Another node's clock put d's start before its dependency's end: ready when it started.
      ['d', { startMs: 95, endMs: 150 }],
      // e depends on a task with no recorded run: when it became ready is not known.
      ['e', { startMs: 20, endMs: 40 }],
    ]);
    const dag = [
      { id: 'a', deps: [] },
      { id: 'b', deps: [] },
      { id: 'c', deps: ['a', 'b'] },
      { id: 'd', deps: ['a'] },
      { id: 'unrecorded', deps: [] },
      { id: 'e', deps: ['unrecorded'] },
    ];
    expect(readyTasks(dag, runs, 0)).toEqual([
      { readyMs: 0, startMs: 10, endMs: 100 },
      { readyMs: 0, startMs: 5, endMs: 60 },
      { readyMs: 100, startMs: 130, endMs: 200 },
      { readyMs: 95, startMs: 95, endMs: 150 },
    ]);
  });

  it('splits empty slot time by whether a task was ready to take it', () => {
    // Two slots. C runs 0-50; A is ready at 0 but starts at 10; B, ready when A ends at 100, starts at 130.
    const tasks = [
      { readyMs: 0, startMs: 0, endMs: 50 },
      { readyMs: 0, startMs: 10, endMs: 100 },
      { readyMs: 100, startMs: 130, endMs: 200 },
    ];
    // Ready and waiting: one slot 0-10 and one 100-130. With nothing ready: one slot 50-100,
    // the second slot 100-130, and one slot 130-200.
    expect(emptySlotTime(tasks, 2, 0, 200)).toEqual({ whileReady: 40, noneReady: 150 });
    // Only the span asked about counts.
    expect(emptySlotTime(tasks, 2, 100, 150)).toEqual({ whileReady: 30, noneReady: 50 });
    expect(emptySlotTime([], 3, 0, 10)).toEqual({ whileReady: 0, noneReady: 30 });
  });
});
