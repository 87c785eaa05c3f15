// Lets an idle node hear at once that work was put on its pool's queues, instead of at its next
// poll of the queues (up to half a second later). Storage queues cannot be waited on, so the
// process that sends the task messages counts its sends per pool (and the messages nodes say they
// gave back, AGENT_ROUTES.workReturned), and an idle agent holds a request
// (AGENT_ROUTES.workSignal) that is answered as soon as the count moves from the one it last saw.
// The count covers only what this process sends and hears of: it is offered to the agents (in the
// heartbeat answer) only where one process sends all of a pool's messages, as on the local host.

/** The longest a request may be held before it is answered with the count unchanged. */
export const WORK_SIGNAL_MAX_WAIT_MS = 20_000;

export class WorkSignal {
  private readonly counts = new Map<string, number>();
  private readonly waiting = new Map<string, Set<() => void>>();

  /** @param offered whether this process sends every message of the pools whose agents call it. */
  constructor(readonly offered: boolean) {}

  /** How many times work was sent to the pool (by its key) in this process, or given back to it. */
  count(poolKey: string): number {
    return this.counts.get(poolKey) ?? 0;
  }

  /** Work was sent to the pool's queues, or given back to them: answers every request held for it. */
  notify(poolKey: string): void {
    this.counts.set(poolKey, this.count(poolKey) + 1);
    const held = this.waiting.get(poolKey);
    if (!held) return;
    this.waiting.delete(poolKey);
    for (const answer of held) answer();
  }

  /**
   * The pool's count once it differs from `after`, or after `waitMs` as it stands; at once when
   * `after` is not given. Any difference counts, not only a rise: a count that started again (a
   * restarted host) is news too.
   */
  wait(poolKey: string, after: number | undefined, waitMs: number): Promise<number> {
    if (after === undefined || after !== this.count(poolKey) || waitMs <= 0) return Promise.resolve(this.count(poolKey));
    return new Promise((resolve) => {
      const answer = () => {
        clearTimeout(timer);
        const held = this.waiting.get(poolKey);
        held?.delete(answer);
        if (held?.size === 0) this.waiting.delete(poolKey);
        resolve(this.count(poolKey));
      };
      const timer = setTimeout(answer, Math.min(waitMs, WORK_SIGNAL_MAX_WAIT_MS));
      let held = this.waiting.get(poolKey);
      if (!held) this.waiting.set(poolKey, (held = new Set()));
      held.add(answer);
    });
  }

  /** Answers every held request now (the process is shutting down). */
  close(): void {
    const held = [...this.waiting.values()].flatMap((answers) => [...answers]);
    this.waiting.clear();
    for (const answer of held) answer();
  }

  /** Requests held now, across pools. */
  get held(): number {
    let n = 0;
    for (const answers of this.waiting.values()) n += answers.size;
    return n;
  }
}
