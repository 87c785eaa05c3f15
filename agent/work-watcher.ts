// An idle node's wait on the control plane's work signal (AGENT_ROUTES.workSignal): the node
// hears that work was sent to its pool the moment it was, rather than at its next poll of the
// queues. One request is held at a time, and only while the node asks for one (when it has free
// slots and found its queues empty), so a busy node costs the control plane nothing.

import { Wakeup } from './backoff.js';

export class WorkWatcher {
  /** The control plane's count of sends to the pool, as last answered. */
  private seen: number | undefined;
  /** The count moved since the node last took the news: it must look at its queues again. */
  private news = false;
  private held = false;
  private failedAt = Number.NEGATIVE_INFINITY;
  private readonly arrived = new Wakeup();

  constructor(
    /** The held request: the count once it differs from `after` (at once without), or unchanged after a while. */
    private readonly ask: (after: number | undefined) => Promise<number>,
    /** After a failed request, none is made for this long. */
    private readonly retryAfterMs = 1_000,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** The last request failed (and its pause is not over): the node should poll as if there were no signal. */
  get failing(): boolean {
    return this.now() - this.failedAt < this.retryAfterMs;
  }

  /**
   * Whether work was sent to the pool since the node last asked. When not, a request is held so
   * that `wait` can be woken. Any news seen before the node's last look at its queues may predate
   * that look; taking it costs one more look, never a missed message.
   */
  takeNews(): boolean {
    if (this.news) {
      this.news = false;
      return true;
    }
    this.hold();
    return false;
  }

  /** Resolves true when news arrives, false after `ms` or when `signal` aborts. */
  wait(ms: number, signal: AbortSignal): Promise<boolean> {
    return this.arrived.wait(ms, signal);
  }

  private hold(): void {
    if (this.held || this.failing) return;
    this.held = true;
    this.ask(this.seen).then(
      (count) => {
        this.held = false;
        if (count === this.seen) return;
        this.seen = count;
        this.news = true;
        this.arrived.wake();
      },
      () => {
        this.held = false;
        this.failedAt = this.now();
        // Whatever was sent meanwhile is unknown: look at the queues again.
        this.news = true;
        this.arrived.wake();
      },
    );
  }
}
