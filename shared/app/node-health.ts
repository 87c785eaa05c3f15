// When the control plane considers a node gone. Silence counts only from when this process
// started watching: after the control plane itself was down, every node looks silent until it is
// heard from again, and healthy nodes must not be written off (found by the simulator).
import type { AppContext } from './context.js';

/** A node whose last heartbeat is older than this is presumed dead; its claims may be taken over. */
export const NODE_DEAD_AFTER_MS = 10_000;
/** A node that missed a few heartbeats (every 500 ms) shows as offline until it is presumed dead. */
export const NODE_OFFLINE_AFTER_MS = 2_000;

let watchingSince: number | undefined;

export function isSilent(ctx: AppContext, lastHeartbeatAt: number | undefined, forMs = NODE_DEAD_AFTER_MS): boolean {
  const now = ctx.now();
  watchingSince ??= now;
  if (lastHeartbeatAt === undefined) return false;
  return now - Math.max(lastHeartbeatAt, watchingSince) > forMs;
}

/** Marks the moment this process starts watching for silence (idempotent). */
export function startWatching(ctx: AppContext): void {
  watchingSince ??= ctx.now();
}

/** A restarted host starts watching afresh (the simulator's host restarts call this). */
export function resetNodeWatch(): void {
  watchingSince = undefined;
}
