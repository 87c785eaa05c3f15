// Virtual time: it moves only when a simulation or a test moves it, so timers, leases and
// wall-clock limits fire without waiting, in order, reproducibly.
import type { Clock } from './contracts.js';

export const SIM_EPOCH = Date.UTC(2030, 0, 1);

export class VirtualClock implements Clock {
  private timers: { at: number; id: number; fn: () => void }[] = [];
  private nextId = 0;

  constructor(private current = SIM_EPOCH) {}

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const id = this.nextId++;
    this.timers.push({ at: this.current + Math.max(0, ms), id, fn });
    return () => {
      this.timers = this.timers.filter((t) => t.id !== id);
    };
  }

  nextTimerAt(): number | undefined {
    let earliest: number | undefined;
    for (const t of this.timers) if (earliest === undefined || t.at < earliest) earliest = t.at;
    return earliest;
  }

  /** Moves forward by `ms`, firing timers that fall due on the way, in order. */
  advance(ms: number): void {
    this.advanceTo(this.current + ms);
  }

  /** Moves to `at` (never backwards), firing timers that fall due on the way, in order. */
  advanceTo(at: number): void {
    for (;;) {
      const due = this.timers.filter((t) => t.at <= at).sort((x, y) => x.at - y.at || x.id - y.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t.id !== due.id);
      this.current = Math.max(this.current, due.at);
      due.fn();
    }
    this.current = Math.max(this.current, at);
  }
}
