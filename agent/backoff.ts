// Delays that grow while nothing happens and shrink back once something does.

export class Backoff {
  private current: number;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly factor = 2,
  ) {
    this.current = initialMs;
  }

  /** The delay to wait now; the next one is longer, up to the maximum. */
  next(): number {
    const delay = this.current;
    this.current = Math.min(this.maxMs, Math.ceil(this.current * this.factor));
    return delay;
  }

  reset(): void {
    this.current = this.initialMs;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** A wait that another part of the agent can cut short (e.g. when slots become free). */
export class Wakeup {
  private waiters = new Set<() => void>();

  /** Resolves true on the next wake(), false after `ms` (if given) or when `signal` aborts. */
  wait(ms: number | undefined, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      let woken = false;
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        signal.removeEventListener('abort', done);
        resolve(woken);
      };
      const wake = () => {
        woken = true;
        done();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      this.waiters.add(wake);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  wake(): void {
    for (const done of [...this.waiters]) done();
  }
}
