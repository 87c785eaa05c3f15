// What a run did, step by step, in virtual time: printed for a failing seed and by --replay.
import type { Clock } from '../local-host/contracts.js';

export class Trace {
  private readonly times: number[] = [];
  private readonly texts: string[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly start: number,
  ) {}

  add(line: string): void {
    // Formatted only when read: most runs pass and nobody reads their trace.
    this.times.push(this.clock.now());
    this.texts.push(line);
  }

  get lines(): string[] {
    return this.texts.map((text, i) => `[${((this.times[i]! - this.start) / 1000).toFixed(3).padStart(8)}s] ${text}`);
  }
}
