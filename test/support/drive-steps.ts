/** Runs domain work written as steps to its end, counting the pauses it made on the way. */
export function driveSteps<T>(steps: Generator<void, T>): { yields: number; value: T } {
  let yields = 0;
  for (;;) {
    const step = steps.next();
    if (step.done) return { yields, value: step.value };
    yields++;
  }
}
