// The order in which a job's ready tasks go to its pool: longest chain of dependents first.
//
// A task's chain height is the number of tasks on the longest chain of dependents that starts
// at it (a task nothing depends on has 1). Handing out ready tasks by height is critical-path
// list scheduling with every task weighing the same, since a task's running time is unknown
// until it has run: the chain that decides when the job can end starts as early as it can
// instead of waiting behind short branches that happened to become ready first. Equal heights
// keep the DAG's order of its tasks. On the compute benchmark's 1,000-task DAG an ideal
// 16-slot schedule in this order ends at 1.015x its lower bound, against 1.028x in the order
// tasks became ready (bench/schedule-model.ts, which also adds per-task overheads).
//
// Heights grow as tasks are added: a new task may depend on existing ones, which may then head
// longer chains. They are capped, so adding a long chain one task at a time costs at most
// CHAIN_HEIGHT_CAP raises per task rather than the length of the chain.
import type { TaskDag } from './dag.js';

/** Chains longer than this count as this long: all equally urgent. */
export const CHAIN_HEIGHT_CAP = 1024;

export class DispatchOrder {
  private readonly heights: number[] = [];
  /** Ready nodes, by the height each was queued (or last raised) with. */
  private readonly queued = new Map<number, number>();
  /** A binary heap of [node, height]; entries whose height is no longer the node's queued one are stale. */
  private readonly heap: [number, number][] = [];

  constructor(private readonly dag: TaskDag) {
    this.admitNewNodes();
  }

  /** Ready tasks not yet taken. */
  get size(): number {
    return this.queued.size;
  }

  heightOf(taskId: string): number {
    const node = this.dag.nodeOf(taskId);
    const height = node === undefined ? undefined : this.heights[node];
    if (height === undefined) throw new RangeError(`No task ${taskId} in the dispatch order`);
    return height;
  }

  /**
   * Takes in the nodes the DAG gained since the last call (all of them the first time). Cost:
   * O(their dependencies), plus the raises of existing tasks' heights, CHAIN_HEIGHT_CAP at most each.
   */
  admitNewNodes(): void {
    const first = this.heights.length;
    const size = this.dag.size;
    if (size === first) return;
    for (let node = first; node < size; node++) this.heights.push(1);
    // The DAG appends new nodes to its topological order, so they are its tail; their dependents are all new.
    const order = this.dag.topologicalNodes();
    for (let i = order.length - 1; i >= order.length - (size - first); i--) {
      const node = order[i]!;
      let height = 1;
      for (const dependent of this.dependentsOf(node)) height = Math.max(height, this.heights[dependent]! + 1);
      this.heights[node] = Math.min(height, CHAIN_HEIGHT_CAP);
    }
    const raised: number[] = [];
    for (let node = first; node < size; node++) {
      for (const dependency of this.dependenciesOf(node)) if (dependency < first) this.raise(dependency, this.heights[node]! + 1, raised);
    }
    while (raised.length) {
      const node = raised.pop()!;
      for (const dependency of this.dependenciesOf(node)) this.raise(dependency, this.heights[node]! + 1, raised);
    }
  }

  /** Queues a ready task; queuing one already queued changes nothing. */
  push(taskId: string): void {
    const node = this.dag.nodeOf(taskId);
    if (node === undefined) throw new RangeError(`No task ${taskId} in the dispatch order`);
    if (this.queued.has(node)) return;
    this.enqueue(node);
  }

  /** Takes up to `count` queued tasks, the highest first. */
  take(count: number): string[] {
    const taken: string[] = [];
    while (taken.length < count && this.heap.length) {
      const [node, height] = this.popTop();
      if (this.queued.get(node) !== height) continue;
      this.queued.delete(node);
      taken.push(this.dag.idOf(node));
    }
    return taken;
  }

  private raise(node: number, height: number, raised: number[]): void {
    const capped = Math.min(height, CHAIN_HEIGHT_CAP);
    if (capped <= this.heights[node]!) return;
    this.heights[node] = capped;
    raised.push(node);
    // A queued task's old entry goes stale; it is found again under its new height.
    if (this.queued.has(node)) this.enqueue(node);
  }

  private enqueue(node: number): void {
    const height = this.heights[node]!;
    this.queued.set(node, height);
    const heap = this.heap;
    heap.push([node, height]);
    let at = heap.length - 1;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!before(heap[at]!, heap[parent]!)) break;
      [heap[at], heap[parent]] = [heap[parent]!, heap[at]!];
      at = parent;
    }
  }

  private popTop(): [number, number] {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length) {
      heap[0] = last;
      let at = 0;
      for (;;) {
        const left = 2 * at + 1;
        const right = left + 1;
        let best = at;
        if (left < heap.length && before(heap[left]!, heap[best]!)) best = left;
        if (right < heap.length && before(heap[right]!, heap[best]!)) best = right;
        if (best === at) break;
        [heap[at], heap[best]] = [heap[best]!, heap[at]!];
        at = best;
      }
    }
    return top;
  }

  private *dependentsOf(node: number): Iterable<number> {
    for (const requirement of this.dag.requirementsWithMember(node)) yield this.dag.dependentOf(requirement);
  }

  private *dependenciesOf(node: number): Iterable<number> {
    for (const requirement of this.dag.requirementsOf(node)) yield* this.dag.membersOf(requirement);
  }
}

/** Higher chains first; among equals, the DAG's earlier node. */
function before(a: [number, number], b: [number, number]): boolean {
  return a[1] !== b[1] ? a[1] > b[1] : a[0] < b[0];
}
