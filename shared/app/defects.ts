// Known-bad behaviours the simulator's bug benchmark switches on, one at a time, to check that it
// finds them. Every switch is off unless the simulator turned it on in its own process: there is
// no environment variable or setting, so production code always takes the correct path.
const enabled = new Set<string>();

export function defect(name: string): boolean {
  return enabled.size > 0 && enabled.has(name);
}

/** For the simulator only. */
export function setDefectsForSimulation(names: Iterable<string>): void {
  enabled.clear();
  for (const name of names) enabled.add(name);
}
