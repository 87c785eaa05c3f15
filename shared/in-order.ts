// Work on a list with a bounded number of calls out at once, started in the list's order. Order
// matters where the calls feed a queue (tasks dispatched longest chain first should reach the
// pool's queue in that order, and the first of a burst should land first rather than together
// with the last), and the bound keeps a large list from flooding a store or a queue service.

/**
 * Calls `work` for each item, starting them in order with at most `limit` unsettled at once.
 * Rejects with the first failure once the calls already started have settled; no item is started
 * after a failure.
 */
export async function forEachInOrder<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, not ${limit}`);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const index = next++;
      try {
        await work(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure) throw failure.error;
}
