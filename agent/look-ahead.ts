// How many task messages a node takes ahead of its free slots. Short tasks end faster than a queue
// receive round trip, so a node that receives only when a slot is free leaves that slot idle for
// the round trip (and, under load, for several). Holding a few messages in hand hides it; but a
// message held here is one another node cannot take, so the node holds only as many as it expects
// to start within a short lead time, judged by how often its tasks have been ending. Nodes running
// long tasks hold none, and a held message that waits too long goes back to the queue (the agent's
// part).

export interface LookAheadOptions {
  /** Never more than this many messages ahead. */
  max: number;
  /** Hold what is expected to start within this long, or within two receive round trips if longer; 0 holds nothing. */
  leadMs: number;
  /** The ending rate is counted over this window. */
  windowMs: number;
  /** The lead never grows beyond this, however slow receives get. */
  maxLeadMs: number;
}

export const DEFAULT_LOOK_AHEAD = { leadMs: 250, windowMs: 1000, maxLeadMs: 1000 } as const;

export class LookAhead {
  private readonly endings: number[] = [];
  private receiveMs = 0;

  constructor(private readonly options: LookAheadOptions) {}

  /** A task's process ended (its slots are free again). */
  ended(now: number): void {
    this.endings.push(now);
    this.forget(now);
  }

  /** How long a receive that brought messages took; a slow queue calls for a longer lead. */
  received(ms: number): void {
    this.receiveMs = this.receiveMs === 0 ? ms : 0.8 * this.receiveMs + 0.2 * ms;
  }

  /** How many messages to hold beyond the free slots now. */
  size(now: number): number {
    this.forget(now);
    if (this.endings.length === 0 || this.options.leadMs <= 0) return 0;
    const leadMs = Math.min(this.options.maxLeadMs, Math.max(this.options.leadMs, 2 * this.receiveMs));
    const perMs = this.endings.length / this.options.windowMs;
    return Math.min(this.options.max, Math.ceil(perMs * leadMs));
  }

  private forget(now: number): void {
    const since = now - this.options.windowMs;
    let drop = 0;
    while (drop < this.endings.length && this.endings[drop]! <= since) drop++;
    if (drop) this.endings.splice(0, drop);
  }
}
