// The node's task slots: a counting semaphore whose waiters ask for several slots at once.

export class SlotCounter {
  private used = 0;
  private waiters = new Set<() => void>();

  constructor(readonly total: number) {}

  get free(): number {
    return this.total - this.used;
  }

  get inUse(): number {
    return this.used;
  }

  take(count: number): void {
    if (count > this.free) throw new Error(`cannot take ${count} slots, ${this.free} free`);
    this.used += count;
  }

  give(count: number): void {
    this.used = Math.max(0, this.used - count);
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves true once `count` slots are free, false if `signal` aborts first. */
  waitFor(count: number, signal: AbortSignal): Promise<boolean> {
    if (this.free >= count) return Promise.resolve(true);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const check = () => {
        if (this.free >= count) finish(true);
      };
      const abort = () => finish(false);
      const finish = (result: boolean) => {
        this.waiters.delete(check);
        signal.removeEventListener('abort', abort);
        resolve(result);
      };
      this.waiters.add(check);
      signal.addEventListener('abort', abort, { once: true });
    });
  }
}
