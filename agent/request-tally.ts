// The agent's requests to Storage and to the control plane, counted at its own adapters by
// operation ("queue.receive", "blob.appendBlock", "api.agent/reports", ...) and written out as
// running totals for whoever measures the node (the compute benchmark). Counting in the agent
// keeps the measuring out of the measured path: a proxy in front of each service would add a hop
// and its CPU to every request. Off unless the agent is given a folder for its totals.
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RequestCounter } from '../shared/adapters/request-counter.js';

/**
 * How often totals that changed are written while requests flow. Each write costs the node a
 * file write and a rename on its event loop: at 50 ms that was about 0.4 ms of agent CPU per task
 * in the compute benchmark, part of what it measured.
 */
export const TALLY_WRITE_MS = 500;

/** The totals file's content. */
export interface TallyFile {
  nodeId: string;
  pid: number;
  counts: Record<string, number>;
}

export class RequestTally {
  readonly counter = new RequestCounter();
  private lastWritten = '';
  private readonly timer: NodeJS.Timeout;
  private readonly onExit = () => this.write();

  private constructor(
    private readonly file: string,
    private readonly nodeId: string,
  ) {
    // Written whole and renamed into place, so a reader never sees half a file.
    this.timer = setInterval(() => this.write(), TALLY_WRITE_MS);
    this.timer.unref();
    process.once('exit', this.onExit);
    this.write();
  }

  /** Totals go to `<dir>/<nodeId>.<pid>.json`: a node restarted under the same id starts a new file. */
  static start(dir: string, nodeId: string): RequestTally {
    return new RequestTally(path.join(dir, `${nodeId}.${process.pid}.json`), nodeId);
  }

  /** Writes the final totals and stops. */
  close(): void {
    clearInterval(this.timer);
    process.removeListener('exit', this.onExit);
    this.write();
  }

  private write(): void {
    const text = JSON.stringify({ nodeId: this.nodeId, pid: process.pid, counts: this.counter.snapshot() } satisfies TallyFile);
    if (text === this.lastWritten) return;
    try {
      writeFileSync(`${this.file}.tmp`, text);
      renameSync(`${this.file}.tmp`, this.file);
      this.lastWritten = text;
    } catch {
      // Measuring must never take the node down; the next change tries again.
    }
  }
}
