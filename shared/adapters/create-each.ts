// Container.createMany for adapters with no cheaper way to write many items, and the fallback
// where a cheaper way failed: one create per item, in order, with the port's contract (every
// item that can be created is; the first failure is raised once all are settled).
import type { Stored } from '../ports/document-store.js';

export async function createEach<T>(items: readonly T[], create: (item: T) => Promise<Stored<T>>): Promise<Stored<T>[]> {
  const stored: Stored<T>[] = [];
  let failure: { error: unknown } | undefined;
  for (const item of items) {
    try {
      stored.push(await create(item));
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure) throw failure.error;
  return stored;
}
