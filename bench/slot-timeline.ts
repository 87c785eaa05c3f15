// Where a run's slot time went beyond the work itself, from the times the nodes recorded: how
// much longer each task ran than its command needed (starting and reaping a process on a busy
// node), and how long a slot stood empty between one task's end and the next task's start
// (the hand-off: end report, claim, receive), and when every slot was first busy. Pure functions
// of the listed tasks.

export interface RecordedTask {
  nodeId: string;
  startMs: number;
  endMs: number;
  /** What the command itself takes: its sleep, or 0 for a no-op. */
  nominalMs: number;
}

export interface Spread {
  p50: number;
  p90: number;
  mean: number;
  count: number;
}

/** Recorded run time minus the command's own time, per task. */
export function overruns(tasks: RecordedTask[]): Spread | undefined {
  return spread(tasks.map((t) => t.endMs - t.startMs - t.nominalMs));
}

/**
 * On each node, every start after the node's first `slotsPerNode` took the slot of the earliest
 * task end not yet taken; the gap between the two is the slot's hand-off. Approximate: a slot
 * that stood empty for want of ready work counts as a long hand-off, so the median says more
 * than the mean.
 */
export function slotHandoffs(tasks: RecordedTask[], slotsPerNode: number): Spread | undefined {
  const byNode = new Map<string, RecordedTask[]>();
  for (const task of tasks) {
    const list = byNode.get(task.nodeId) ?? [];
    list.push(task);
    byNode.set(task.nodeId, list);
  }
  const gaps: number[] = [];
  for (const list of byNode.values()) {
    const starts = list.map((t) => t.startMs).sort((a, b) => a - b);
    const ends = list.map((t) => t.endMs).sort((a, b) => a - b);
    for (let i = slotsPerNode; i < starts.length; i++) gaps.push(Math.max(0, starts[i]! - ends[i - slotsPerNode]!));
  }
  return spread(gaps);
}

/**
 * The first moment `totalSlots` tasks ran at once (the pool full), or undefined if they never
 * did. A task that ends at the moment another starts has left its slot.
 */
export function slotsFullAt(tasks: RecordedTask[], totalSlots: number): number | undefined {
  const events = tasks.flatMap((t) => [{ at: t.startMs, change: 1 }, { at: t.endMs, change: -1 }]);
  events.sort((a, b) => a.at - b.at || a.change - b.change);
  let running = 0;
  for (const { at, change } of events) {
    running += change;
    if (running >= totalSlots) return at;
  }
  return undefined;
}

function spread(values: number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.floor(p * (sorted.length - 1))]!;
  return { p50: at(0.5), p90: at(0.9), mean: sorted.reduce((sum, v) => sum + v, 0) / sorted.length, count: sorted.length };
}
