// Where the app's randomness comes from: identifiers (dispatch ids) and the numbers autoscale
// formulas draw with random(). Production uses randomUUID and Math.random; the simulator installs
// seeded sources so that a run replays exactly.
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

let fractionSource: () => number = Math.random;

/** A number in [0, 1), for autoscale formulas' random(). */
export function randomFraction(): number {
  return fractionSource();
}

/** Replaces the source (simulator only); undefined restores Math.random. */
export function setRandomFractionSource(next: (() => number) | undefined): void {
  fractionSource = next ?? Math.random;
}
