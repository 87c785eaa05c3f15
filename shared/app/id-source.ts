// Where the app's random identifiers (dispatch ids) come from. Production draws them from
// randomUUID; the simulator installs a seeded source so that a run replays exactly.
import { randomUUID } from 'node:crypto';

const defaultSource = (): string => randomUUID();
let source: () => string = defaultSource;

export function newRandomId(): string {
  return source();
}

/** Replaces the source (simulator only); undefined restores randomUUID. */
export function setRandomIdSource(next: (() => string) | undefined): void {
  source = next ?? defaultSource;
}
