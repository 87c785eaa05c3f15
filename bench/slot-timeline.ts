// Where a run's slot time went beyond the work itself, from the times the nodes recorded: how
// much longer each task ran than its command needed (starting and reaping a process on a busy
// node), how long a slot stood empty between one task's end and the next task's start (the
// hand-off: end report, claim, receive), when every slot was first busy, and how much slot time
// stood empty while a task was ready to run, against none being ready. Pure functions of the
// listed tasks.

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

/** A task's run as its node recorded it, and the moment it could first have started. */
export interface ReadyTask {
  /** When the last task it depends on ended (by that task's node's clock), or the job's submission. */
  readyMs: number;
  startMs: number;
  endMs: number;
}

/** The recorded tasks of a DAG with the moment each became ready; a task whose run or dependencies were not recorded is left out. */
export function readyTasks(
  dag: readonly { id: string; deps: readonly string[] }[],
  runs: ReadonlyMap<string, { startMs: number; endMs: number }>,
  submittedMs: number,
): ReadyTask[] {
  const ready: ReadyTask[] = [];
  for (const task of dag) {
    const run = runs.get(task.id);
    if (!run) continue;
    let readyMs = submittedMs;
    for (const dep of task.deps) readyMs = Math.max(readyMs, runs.get(dep)?.endMs ?? Number.POSITIVE_INFINITY);
    // Nodes' clocks may differ a little: a task was ready by the time it started, whatever they say.
    if (Number.isFinite(readyMs)) ready.push({ readyMs: Math.min(readyMs, run.startMs), startMs: run.startMs, endMs: run.endMs });
  }
  return ready;
}

/** Slot time (summed over the slots, ms) that stood empty, by whether a task was waiting for it. */
export interface EmptySlotTime {
  /** Empty while a task was ready and not started: the time the service took to start work it had. */
  whileReady: number;
  /** Empty with no task ready: the DAG had nothing more to run then (its shape, or the job's end). */
  noneReady: number;
}

/** How long the pool's `totalSlots` slots stood empty from `fromMs` to `toMs`, and whether work was ready meanwhile. */
export function emptySlotTime(tasks: readonly ReadyTask[], totalSlots: number, fromMs: number, toMs: number): EmptySlotTime {
  const events = tasks.flatMap((t) => [
    { at: t.readyMs, busy: 0, ready: 1 },
    { at: t.startMs, busy: 1, ready: -1 },
    { at: t.endMs, busy: -1, ready: 0 },
  ]);
  events.sort((a, b) => a.at - b.at);
  const empty: EmptySlotTime = { whileReady: 0, noneReady: 0 };
  let busy = 0;
  let ready = 0;
  let since = fromMs;
  const count = (until: number) => {
    const span = Math.min(until, toMs) - since;
    if (span <= 0) return;
    const idle = Math.max(0, totalSlots - busy);
    const waitedFor = Math.min(idle, ready);
    empty.whileReady += waitedFor * span;
    empty.noneReady += (idle - waitedFor) * span;
  };
  for (const event of events) {
    count(event.at);
    since = Math.max(since, event.at);
    busy += event.busy;
    ready += event.ready;
  }
  count(toMs);
  return empty;
}

function spread(values: number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.floor(p * (sorted.length - 1))]!;
  return { p50: at(0.5), p90: at(0.9), mean: sorted.reduce((sum, v) => sum + v, 0) / sorted.length, count: sorted.length };
}
