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

/**
 * Whether a node holds its look-ahead now. Not when the queue ran low (its last receive brought
 * less than it asked for) while another node is idle: what it held would be kept from that node.
 * With every node busy it does, however short the queue: when work comes a few tasks at a time,
 * the look-ahead is what keeps a node's slots busy. Without it every exit left its slot empty for
 * a receive and a claim; in the benchmark's DAG, one slot in ten for seconds at a time.
 */
export function holdsAhead(queueDeep: boolean, idlePeers: number | undefined): boolean {
  return queueDeep || !idlePeers;
}

export class LookAhead {
  private readonly endings: number[] = [];
  private receiveMs = 0;
  /** When the node last began taking work after a window with no endings: the rate is counted from then. */
  private busySince: number | undefined;

  constructor(private readonly options: LookAheadOptions) {}

  /** A task's process ended (its slots are free again). */
  ended(now: number): void {
    this.endings.push(now);
    this.forget(now);
  }

  /**
   * A task took a slot. A node that saw no task end for a whole window is starting afresh, and
   * its endings are counted over the time since, not over a window mostly spent idle: at a job's
   * start the look-ahead then grows as fast as tasks end, instead of over a whole window.
   */
  began(now: number): void {
    this.forget(now);
    if (this.endings.length === 0 && (this.busySince === undefined || now - this.busySince >= this.options.windowMs)) this.busySince = now;
  }

  /** How long a receive that brought messages took; a slow queue calls for a longer lead. */
  received(ms: number): void {
    this.receiveMs = this.receiveMs === 0 ? ms : 0.8 * this.receiveMs + 0.2 * ms;
  }

  /**
   * How many messages to hold beyond the free slots now: the endings counted over the window (or
   * over the time since the node began afresh, but at least the lead: a few early endings are
   * little to go on), at that rate over the lead.
   */
  size(now: number): number {
    this.forget(now);
    if (this.endings.length === 0 || this.options.leadMs <= 0) return 0;
    const leadMs = Math.min(this.options.maxLeadMs, Math.max(this.options.leadMs, 2 * this.receiveMs));
    const counted = this.busySince === undefined ? this.options.windowMs : Math.min(this.options.windowMs, now - this.busySince);
    const perMs = this.endings.length / Math.max(counted, leadMs);
    return Math.min(this.options.max, Math.ceil(perMs * leadMs));
  }

  private forget(now: number): void {
    const since = now - this.options.windowMs;
    let drop = 0;
    while (drop < this.endings.length && this.endings[drop]! <= since) drop++;
    if (drop) this.endings.splice(0, drop);
  }
}
