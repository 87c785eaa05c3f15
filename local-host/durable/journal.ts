// Persistence for the Durable backend: a snapshot plus an append-only journal of Commits, one JSON
// line each, written with a single synchronous write. A process killed with -9 loses nothing that
// was committed (the kernel holds the written pages); a torn last line is ignored on recovery.
// Records carry a sequence number, so a crash between writing a snapshot and truncating the
// journal cannot apply a commit twice.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { applyCommit, emptyState, type BackendState, type Commit } from './state.js';

const COMPACT_AT_BYTES = 64 * 1024 * 1024;

interface SnapshotFile {
  lastN: number;
  nextSeq: number;
  instances: BackendState['instances'] extends Map<string, infer V> ? V[] : never;
  activities: BackendState['activities'] extends Map<string, infer V> ? V[] : never;
  timers: BackendState['timers'] extends Map<string, infer V> ? V[] : never;
}

export interface Journal {
  /** Rebuilds the state from disk (an empty state when there is nothing yet). */
  load(): BackendState;
  append(commit: Commit): void;
  /** Writes a snapshot of state and starts a fresh journal when the journal has grown large. */
  maybeCompact(state: BackendState): void;
  close(): void;
}

export function memoryJournal(): Journal {
  return { load: emptyState, append: () => {}, maybeCompact: () => {}, close: () => {} };
}

export function fileJournal(dir: string): Journal {
  mkdirSync(dir, { recursive: true });
  const snapshotPath = path.join(dir, 'snapshot.json');
  const journalPath = path.join(dir, 'journal.jsonl');
  let fd: number | undefined;
  let bytes = 0;

  const openForAppend = () => {
    fd = openSync(journalPath, 'a');
    bytes = statSync(journalPath).size;
  };

  return {
    load() {
      const state = emptyState();
      if (existsSync(snapshotPath)) {
        const snap = JSON.parse(readFileSync(snapshotPath, 'utf8')) as SnapshotFile;
        state.lastN = snap.lastN;
        state.nextSeq = snap.nextSeq;
        for (const i of snap.instances) state.instances.set(i.instanceId, i);
        for (const a of snap.activities) state.activities.set(a.key, a);
        for (const t of snap.timers) state.timers.set(t.key, t);
      }
      if (existsSync(journalPath)) {
        const lines = readFileSync(journalPath, 'utf8').split('\n');
        for (const line of lines) {
          if (!line.trim()) continue;
          let commit: Commit;
          try {
            commit = JSON.parse(line) as Commit;
          } catch {
            break; // a torn write at the end of the journal: everything before it is intact
          }
          if ((commit.n ?? 0) <= state.lastN) continue;
          applyCommit(state, commit);
        }
      }
      openForAppend();
      return state;
    },
    append(commit) {
      if (fd === undefined) openForAppend();
      const line = JSON.stringify(commit) + '\n';
      writeSync(fd!, line);
      bytes += Buffer.byteLength(line);
    },
    maybeCompact(state) {
      if (bytes < COMPACT_AT_BYTES) return;
      const snap: SnapshotFile = {
        lastN: state.lastN,
        nextSeq: state.nextSeq,
        instances: [...state.instances.values()],
        activities: [...state.activities.values()],
        timers: [...state.timers.values()],
      };
      const tmp = `${snapshotPath}.tmp`;
      writeFileSync(tmp, JSON.stringify(snap));
      renameSync(tmp, snapshotPath);
      if (fd !== undefined) closeSync(fd);
      writeFileSync(journalPath, '');
      openForAppend();
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
