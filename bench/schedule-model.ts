// What the order of dispatch alone is worth on the compute benchmark's DAG: an ideal list
// schedule of its 1,000 sleep tasks on 16 slots, where each task costs `overhead` ms beyond its
// sleep and a slot stands empty `gap` ms before each start, with ready tasks taken in the order
// they became ready or longest chain of dependents first (fnbatch's DispatchOrder, the real
// class). Prints makespan / lower bound for a few overheads. No processes, no fnbatch host.
//   npm run build && node dist/bench/schedule-model.js
import { DispatchOrder, TaskDag } from '../shared/batch/index.js';
import { makespanLowerBound, randomSleepDag, type BenchTask } from './compute-dag.js';

const SLOTS = 16;
const SEED = 4;

type Order = 'ready' | 'chain';

function makespan(tasks: BenchTask[], order: Order, overheadMs: number, gapMs: number): number {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const dependents = new Map<string, string[]>(tasks.map((t) => [t.id, []]));
  for (const t of tasks) for (const d of t.deps) dependents.get(d)!.push(t.id);
  const dispatchOrder = new DispatchOrder(TaskDag.of(tasks.map((t) => ({ id: t.id, dependsOn: { taskIds: t.deps } }))));
  const fifo: string[] = [];
  const push = (id: string) => (order === 'chain' ? dispatchOrder.push(id) : fifo.push(id));
  const take = () => (order === 'chain' ? dispatchOrder.take(1)[0] : fifo.shift());
  const waitingOn = new Map(tasks.map((t) => [t.id, t.deps.length]));
  for (const t of tasks) if (t.deps.length === 0) push(t.id);

  const running: { id: string; end: number }[] = [];
  let now = 0;
  let free = SLOTS;
  let ended = 0;
  while (ended < tasks.length) {
    for (let id = free > 0 ? take() : undefined; id !== undefined; id = free > 0 ? take() : undefined) {
      free--;
      running.push({ id, end: now + gapMs + byId.get(id)!.durationMs + overheadMs });
    }
    running.sort((a, b) => a.end - b.end);
    const next = running.shift()!;
    now = next.end;
    free++;
    ended++;
    for (const dependent of dependents.get(next.id)!) {
      const left = waitingOn.get(dependent)! - 1;
      waitingOn.set(dependent, left);
      if (left === 0) push(dependent);
    }
  }
  return now;
}

const tasks = randomSleepDag(1000, SEED);
const bound = makespanLowerBound(tasks, SLOTS).boundMs;
console.log(`Ideal list schedules of the compute benchmark's DAG (seed ${SEED}) on ${SLOTS} slots, makespan / lower bound (${(bound / 1000).toFixed(2)} s)`);
console.log('   overhead per task   slot empty before each start   in the order tasks became ready   longest chain first');
for (const [overheadMs, gapMs] of [
  [0, 0],
  [4, 2],
  [8, 4],
  [10, 7],
] as const) {
  const ready = makespan(tasks, 'ready', overheadMs, gapMs) / bound;
  const chain = makespan(tasks, 'chain', overheadMs, gapMs) / bound;
  console.log(`   ${String(overheadMs).padStart(6)} ms${String(gapMs).padStart(26)} ms${ready.toFixed(3).padStart(34)}${chain.toFixed(3).padStart(22)}`);
}
