// Graph algorithms over dense node indices, iterative so that 100,000-deep chains cannot overflow
// the call stack. Edges point from a node to the nodes it depends on.

export type DependenciesOf = (node: number) => readonly number[];

const WHITE = 0;
const GRAY = 1;
const BLACK = 2;

/**
 * One dependency cycle, as nodes in order: each depends on the next and the last depends on the
 * first. Null when the graph is acyclic. O(V + E).
 */
export function findCycle(nodeCount: number, dependenciesOf: DependenciesOf, roots?: Iterable<number>): number[] | null {
  const color = new Uint8Array(nodeCount);
  const path: number[] = [];
  const nextEdge: number[] = [];
  const starts = roots ?? range(nodeCount);
  for (const root of starts) {
    if (color[root] !== WHITE) continue;
    color[root] = GRAY;
    path.push(root);
    nextEdge.push(0);
    while (path.length > 0) {
      const top = path.length - 1;
      const node = path[top]!;
      const deps = dependenciesOf(node);
      const edge = nextEdge[top]!;
      if (edge < deps.length) {
        nextEdge[top] = edge + 1;
        const dep = deps[edge]!;
        if (color[dep] === GRAY) return path.slice(path.lastIndexOf(dep));
        if (color[dep] === WHITE) {
          color[dep] = GRAY;
          path.push(dep);
          nextEdge.push(0);
        }
      } else {
        color[node] = BLACK;
        path.pop();
        nextEdge.pop();
      }
    }
  }
  return null;
}

function* range(n: number): Iterable<number> {
  for (let i = 0; i < n; i++) yield i;
}

/** Tarjan's strongly connected components, iteratively. O(V + E). */
export function stronglyConnectedComponents(nodeCount: number, dependenciesOf: DependenciesOf): number[][] {
  const index = new Int32Array(nodeCount).fill(-1);
  const lowLink = new Int32Array(nodeCount);
  const onStack = new Uint8Array(nodeCount);
  const stack: number[] = [];
  const components: number[][] = [];
  let counter = 0;

  const callNode: number[] = [];
  const callEdge: number[] = [];
  for (let root = 0; root < nodeCount; root++) {
    if (index[root] !== -1) continue;
    callNode.push(root);
    callEdge.push(0);
    index[root] = lowLink[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (callNode.length > 0) {
      const top = callNode.length - 1;
      const node = callNode[top]!;
      const deps = dependenciesOf(node);
      const edge = callEdge[top]!;
      if (edge < deps.length) {
        callEdge[top] = edge + 1;
        const dep = deps[edge]!;
        if (index[dep] === -1) {
          index[dep] = lowLink[dep] = counter++;
          stack.push(dep);
          onStack[dep] = 1;
          callNode.push(dep);
          callEdge.push(0);
        } else if (onStack[dep]) {
          lowLink[node] = Math.min(lowLink[node]!, index[dep]!);
        }
        continue;
      }
      if (lowLink[node] === index[node]) {
        const component: number[] = [];
        let member: number;
        do {
          member = stack.pop()!;
          onStack[member] = 0;
          component.push(member);
        } while (member !== node);
        components.push(component);
      }
      callNode.pop();
      callEdge.pop();
      if (callNode.length > 0) {
        const parent = callNode[callNode.length - 1]!;
        lowLink[parent] = Math.min(lowLink[parent]!, lowLink[node]!);
      }
    }
  }
  return components;
}

/** Nodes that lie on some cycle (including self-dependencies), grouped by component. */
export function cyclicComponents(nodeCount: number, dependenciesOf: DependenciesOf): number[][] {
  return stronglyConnectedComponents(nodeCount, dependenciesOf).filter(
    (component) => component.length > 1 || dependenciesOf(component[0]!).includes(component[0]!),
  );
}

/**
 * Kahn's algorithm: dependencies before dependents, ties in index order. Returns null when the
 * graph has a cycle. O(V + E).
 */
export function topologicalOrder(nodeCount: number, dependenciesOf: DependenciesOf): number[] | null {
  const pending = new Int32Array(nodeCount);
  const dependents: number[][] = Array.from({ length: nodeCount }, () => []);
  for (let node = 0; node < nodeCount; node++) {
    const unique = new Set(dependenciesOf(node));
    pending[node] = unique.size;
    for (const dep of unique) dependents[dep]!.push(node);
  }
  const order: number[] = [];
  for (let node = 0; node < nodeCount; node++) if (pending[node] === 0) order.push(node);
  for (let head = 0; head < order.length; head++) {
    for (const dependent of dependents[order[head]!]!) {
      pending[dependent]!--;
      if (pending[dependent] === 0) order.push(dependent);
    }
  }
  return order.length === nodeCount ? order : null;
}

/**
 * Task ids that stand for integers, by value, for resolving dependency ranges. Values are kept
 * sorted lazily: adding is O(1); the next range query merges what was added since.
 */
export class IntegerIdIndex {
  private readonly nodesByValue = new Map<number, number[]>();
  private sorted: number[] = [];
  private unsorted: number[] = [];

  add(value: number, node: number): void {
    const nodes = this.nodesByValue.get(value);
    if (nodes) nodes.push(node);
    else {
      this.nodesByValue.set(value, [node]);
      this.unsorted.push(value);
    }
  }

  /** Each integer value in [start, end] that has tasks, with those tasks, in ascending order. */
  valuesInRange(start: number, end: number): Array<{ value: number; nodes: readonly number[] }> {
    this.settle();
    const out: Array<{ value: number; nodes: readonly number[] }> = [];
    for (let i = lowerBound(this.sorted, start); i < this.sorted.length && this.sorted[i]! <= end; i++) {
      const value = this.sorted[i]!;
      out.push({ value, nodes: this.nodesByValue.get(value)! });
    }
    return out;
  }

  private settle(): void {
    if (this.unsorted.length === 0) return;
    const added = this.unsorted.sort((a, b) => a - b);
    const merged: number[] = new Array(this.sorted.length + added.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < this.sorted.length || j < added.length) {
      if (j >= added.length || (i < this.sorted.length && this.sorted[i]! < added[j]!)) merged[k++] = this.sorted[i++]!;
      else merged[k++] = added[j++]!;
    }
    this.sorted = merged;
    this.unsorted = [];
  }
}

function lowerBound(sorted: readonly number[], target: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
