// The Durable backend's journal for a simulation: commits kept as JSON lines in memory, so a
// crashed backend's successor rebuilds exactly what was persisted, and nothing that was not.
import type { Journal } from '../local-host/durable/journal.js';
import { applyCommit, emptyState, type BackendState, type Commit } from '../local-host/durable/state.js';

export class SimJournal implements Journal {
  private readonly lines: string[] = [];

  load(): BackendState {
    const state = emptyState();
    for (const line of this.lines) applyCommit(state, JSON.parse(line) as Commit);
    return state;
  }

  append(commit: Commit): void {
    this.lines.push(JSON.stringify(commit));
  }

  maybeCompact(): void {}

  close(): void {}

  get size(): number {
    return this.lines.length;
  }
}
