// Counts requests by operation name ("store.read", "queue.receive", ...), so a benchmark can report
// how many queue and Cosmos requests each task cost.

export class RequestCounter {
  private readonly counts = new Map<string, number>();

  increment(operation: string): void {
    this.counts.set(operation, (this.counts.get(operation) ?? 0) + 1);
  }

  get(operation: string): number {
    return this.counts.get(operation) ?? 0;
  }

  /** All operations whose name starts with `${prefix}.`, or every operation without a prefix. */
  total(prefix?: string): number {
    let sum = 0;
    for (const [operation, count] of this.counts) {
      if (prefix === undefined || operation.startsWith(`${prefix}.`)) sum += count;
    }
    return sum;
  }

  /** A copy, sorted by operation name. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  reset(): void {
    this.counts.clear();
  }
}
