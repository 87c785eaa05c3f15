// The Durable backend's journal for a simulation: commits kept as JSON lines in memory, so a
// crashed backend's successor rebuilds exactly what was persisted, and nothing that was not. In a
// scenario whose host never crashes nothing is ever read back, so the commits are only counted
// (serializing each one was a measurable share of every orchestration step).
import type { Journal } from '../local-host/durable/journal.js';
import { applyCommit, emptyState, type BackendState, type Commit } from '../local-host/durable/state.js';

export class SimJournal implements Journal {
  private readonly lines: string[] = [];
  private appended = 0;

  constructor(private readonly keep = true) {}

  load(): BackendState {
    if (!this.keep && this.appended > 0) throw new Error('this journal keeps nothing: its scenario never restarts the host');
    const state = emptyState();
    for (const line of this.lines) applyCommit(state, JSON.parse(line) as Commit);
    return state;
  }

  append(commit: Commit): void {
    this.appended++;
    if (this.keep) this.lines.push(JSON.stringify(commit));
  }

  maybeCompact(): void {}

  close(): void {}

  get size(): number {
    return this.appended;
  }
}
