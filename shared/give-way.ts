// Letting other work run during long CPU work. A request that takes seconds of CPU (a job of
// 100,000 tasks) would otherwise hold up every other request the process serves meanwhile.

/** Resolves after the work already waiting on the event loop (I/O callbacks included) has run. */
export function giveWay(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Runs work written as steps (a generator that yields between them), giving way to other work
 * whenever the steps since the last turn have taken `turnMs`. Work that finishes within one turn
 * runs straight through, with no wait at all.
 */
export async function runGivingWay<T>(steps: Generator<void, T>, turnMs = 20): Promise<T> {
  let turnStarted = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (performance.now() - turnStarted >= turnMs) {
      await giveWay();
      turnStarted = performance.now();
    }
  }
}
