// The local agents' request totals, read from the folder they write them to
// (agent/request-tally.ts: one file per agent process), as counts since the last reset.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { TALLY_WRITE_MS, type TallyFile } from '../agent/request-tally.js';

export class AgentRequestCounts {
  private baseline: Record<string, number> = {};

  constructor(readonly dir: string) {}

  /** Counts from now on start at zero. */
  reset(): void {
    this.baseline = this.totals();
  }

  get(operation: string): number {
    return (this.totals()[operation] ?? 0) - (this.baseline[operation] ?? 0);
  }

  /** Counts since the last reset, by operation name, sorted, zeros left out. */
  snapshot(): Record<string, number> {
    const totals = this.totals();
    const since = Object.entries(totals)
      .map(([operation, count]) => [operation, count - (this.baseline[operation] ?? 0)] as const)
      .filter(([, count]) => count > 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(since);
  }

  /** Resolves once every request counted so far by a running agent is in its file. */
  async settle(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 3 * TALLY_WRITE_MS));
  }

  private totals(): Record<string, number> {
    const sum: Record<string, number> = {};
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith('.json')) continue;
      let file: Partial<TallyFile> | null;
      try {
        file = JSON.parse(readFileSync(path.join(this.dir, name), 'utf8')) as Partial<TallyFile> | null;
      } catch {
        continue; // written whole and renamed into place, so only a foreign file gets here
      }
      if (!file || typeof file.counts !== 'object' || file.counts === null) continue;
      for (const [operation, count] of Object.entries(file.counts)) sum[operation] = (sum[operation] ?? 0) + count;
    }
    return sum;
  }
}
