// Long domain work written as steps: a generator that yields between them, so that a caller can
// let other work run meanwhile (shared/give-way.ts). Callers with nothing else to do run it at once.

/** Runs steps to their end at once. */
export function runToEnd<T>(steps: Generator<void, T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}
