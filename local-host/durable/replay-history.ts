// The history as the library's replay reads it. The library turns every event's Timestamp text
// into a Date on every replay; events that already carry Dates are left as they are, so each
// committed event is converted once and the copy reused by every later replay of its instance.
import { EventType, type HistoryEvent } from './history.js';

export type ReplayEvent = Omit<HistoryEvent, 'Timestamp'> & { Timestamp: Date };

/** Converted copies of committed histories, by history array (a history only ever grows). */
const converted = new WeakMap<readonly HistoryEvent[], ReplayEvent[]>();

export function replayHistory(committed: readonly HistoryEvent[], fresh: readonly HistoryEvent[]): ReplayEvent[] {
  let done = converted.get(committed);
  if (!done || done.length > committed.length) converted.set(committed, (done = []));
  for (let i = done.length; i < committed.length; i++) done.push(toReplayEvent(committed[i]!));
  const history = new Array<ReplayEvent>(committed.length + fresh.length);
  for (let i = 0; i < done.length; i++) history[i] = ownDate(done[i]!);
  for (let i = 0; i < fresh.length; i++) history[done.length + i] = toReplayEvent(fresh[i]!);
  return history;
}

function toReplayEvent(event: HistoryEvent): ReplayEvent {
  return { ...event, Timestamp: new Date(event.Timestamp) };
}

/**
 * An OrchestratorStarted event's Date becomes the orchestration's currentUtcDateTime, which its
 * code may change: each replay gets its own, so no replay can see what an earlier one did.
 */
function ownDate(event: ReplayEvent): ReplayEvent {
  return event.EventType === EventType.OrchestratorStarted ? { ...event, Timestamp: new Date(event.Timestamp.getTime()) } : event;
}
