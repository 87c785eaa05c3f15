import { describe, expect, it } from 'vitest';
import { forEachInOrder } from '../../shared/in-order.js';

/** A call that settles when the test says so. */
function gate(): { promise: Promise<void>; open(): void; fail(error: Error): void } {
  let open!: () => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

const turns = async (n = 5) => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};

describe('forEachInOrder', () => {
  it('starts the items in order, never more than the limit at once', async () => {
    const items = Array.from({ length: 10 }, (_, i) => i);
    const gates = items.map(() => gate());
    const started: number[] = [];
    let running = 0;
    let most = 0;
    const done = forEachInOrder(items, 3, async (item, index) => {
      expect(index).toBe(item);
      started.push(item);
      most = Math.max(most, ++running);
      await gates[item]!.promise;
      running--;
    });
    await turns();
    expect(started).toEqual([0, 1, 2]);
    gates[1]!.open();
    await turns();
    expect(started).toEqual([0, 1, 2, 3]);
    for (const g of gates) g.open();
    await done;
    expect(started).toEqual(items);
    expect(most).toBe(3);
  });

  it('starts nothing after a failure and rejects once the calls already out have settled', async () => {
    const gates = Array.from({ length: 6 }, () => gate());
    const started: number[] = [];
    const settled: number[] = [];
    const done = forEachInOrder([0, 1, 2, 3, 4, 5], 2, async (item) => {
      started.push(item);
      try {
        await gates[item]!.promise;
      } finally {
        settled.push(item);
      }
    });
    let rejected: unknown;
    done.catch((error: unknown) => (rejected = error));
    await turns();
    gates[0]!.fail(new Error('store unavailable'));
    await turns();
    expect(started).toEqual([0, 1]);
    expect(rejected).toBeUndefined(); // item 1 is still out
    gates[1]!.open();
    await expect(done).rejects.toThrow('store unavailable');
    expect(started).toEqual([0, 1]);
    expect(settled).toEqual([0, 1]);
  });

  it('handles an empty list and refuses a limit that is not a positive integer', async () => {
    await expect(forEachInOrder([], 4, async () => undefined)).resolves.toBeUndefined();
    await expect(forEachInOrder([1], 0, async () => undefined)).rejects.toThrow(RangeError);
    await expect(forEachInOrder([1], 1.5, async () => undefined)).rejects.toThrow(RangeError);
  });
});
