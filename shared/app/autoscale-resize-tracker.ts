// The provider calls a pool has in flight in this process. Growing a scale set can take minutes on
// Azure, so the reconciler starts a growth and moves on; the next pass sees it still running (and
// leaves it alone), sees it finished (and reports its error, if any), or finds it no longer wanted
// (and aborts it through its AbortSignal). Deletions are tracked so a node is deleted once.
import type { NodePriority, ScaleSetProvider } from '../ports/scale-set-provider.js';
import type { ResizeError } from './documents.js';

export interface Growth {
  capacity: number;
  controller: AbortController;
  done: Promise<void>;
  settled: boolean;
  error?: ResizeError;
}

export class ResizeTracker {
  private readonly growths = new Map<string, Growth>();
  private readonly deletions = new Map<string, Promise<void>>();
  private readonly poolControllers = new Map<string, AbortController>();

  /** Aborted when the pool is deleted: every call for it is then unwanted. */
  poolSignal(poolKey: string): AbortSignal {
    let controller = this.poolControllers.get(poolKey);
    if (!controller) {
      controller = new AbortController();
      this.poolControllers.set(poolKey, controller);
    }
    return controller.signal;
  }

  /** The growth in flight for the pool and priority; a settled one is handed over once and forgotten. */
  takeGrowth(poolKey: string, priority: NodePriority): { running?: Growth; finished?: Growth } {
    const key = `${poolKey}|${priority}`;
    const growth = this.growths.get(key);
    if (!growth) return {};
    if (!growth.settled) return { running: growth };
    this.growths.delete(key);
    return { finished: growth };
  }

  startGrowth(provider: ScaleSetProvider, poolKey: string, poolId: string, priority: NodePriority, capacity: number): Growth {
    const controller = new AbortController();
    const poolSignal = this.poolSignal(poolKey);
    const onPoolAbort = () => controller.abort();
    poolSignal.addEventListener('abort', onPoolAbort, { once: true });
    const growth: Growth = { capacity, controller, settled: false, done: Promise.resolve() };
    growth.done = Promise.resolve()
      .then(() => provider.growTo(poolId, priority, capacity, controller.signal))
      .then(
        () => undefined,
        (err: unknown) => {
          // A growth we aborted ended as asked; anything else goes into the pool's resizeErrors.
          if (!controller.signal.aborted) {
            growth.error = { code: (err as { code?: string }).code ?? 'ResizeFailed', message: (err as Error).message };
          }
        },
      )
      .finally(() => {
        growth.settled = true;
        poolSignal.removeEventListener('abort', onPoolAbort);
      });
    this.growths.set(`${poolKey}|${priority}`, growth);
    return growth;
  }

  /** Aborts the growth in flight, waits for it to stop, and forgets it. */
  async cancelGrowth(poolKey: string, priority: NodePriority): Promise<void> {
    const key = `${poolKey}|${priority}`;
    const growth = this.growths.get(key);
    if (!growth) return;
    growth.controller.abort();
    await growth.done;
    this.growths.delete(key);
  }

  isDeleting(poolKey: string, nodeKey: string): boolean {
    return this.deletions.has(`${poolKey}|${nodeKey}`);
  }

  /** Runs `remove` for these nodes unless a deletion of them is already under way. */
  startDeletion(poolKey: string, nodeKeys: string[], remove: (signal: AbortSignal) => Promise<void>, onError: (err: Error) => void): Promise<void> {
    const fresh = nodeKeys.filter((n) => !this.isDeleting(poolKey, n));
    if (!fresh.length) return Promise.resolve();
    const done = Promise.resolve()
      .then(() => remove(this.poolSignal(poolKey)))
      .catch((err: unknown) => onError(err as Error))
      .finally(() => {
        for (const n of fresh) this.deletions.delete(`${poolKey}|${n}`);
      });
    for (const n of fresh) this.deletions.set(`${poolKey}|${n}`, done);
    return done;
  }

  /** Aborts and forgets everything for a deleted pool. */
  async forgetPool(poolKey: string): Promise<void> {
    this.poolControllers.get(poolKey)?.abort();
    this.poolControllers.delete(poolKey);
    const pending = [...this.growths.entries()].filter(([k]) => k.startsWith(`${poolKey}|`));
    await Promise.all(pending.map(([, g]) => g.done));
    for (const [k] of pending) this.growths.delete(k);
  }

  /** Waits for every provider call in flight (tests, shutdown). */
  async settle(): Promise<void> {
    for (;;) {
      const pending = [...[...this.growths.values()].filter((g) => !g.settled).map((g) => g.done), ...this.deletions.values()];
      if (!pending.length) return;
      await Promise.all(pending);
    }
  }
}

/** The process's tracker: provider calls are in-process state, like the provider itself. */
export const resizes = new ResizeTracker();
