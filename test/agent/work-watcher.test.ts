// The agent's side of the work signal: one request held at a time, news kept until taken.
import { describe, expect, it } from 'vitest';
import { WorkWatcher } from '../../agent/work-watcher.js';

/** A control plane whose answers the test gives, one request at a time. */
function controlPlane() {
  const asked: (number | undefined)[] = [];
  let answer: { resolve: (count: number) => void; reject: (error: Error) => void } | undefined;
  return {
    asked,
    ask: (after: number | undefined) =>
      new Promise<number>((resolve, reject) => {
        asked.push(after);
        answer = { resolve, reject };
      }),
    answer: async (count: number) => {
      answer!.resolve(count);
      await new Promise((resolve) => setImmediate(resolve));
    },
    fail: async () => {
      answer!.reject(new Error('unreachable'));
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

const never = new AbortController().signal;

describe('WorkWatcher', () => {
  it('holds one request at a time, with the count last answered', async () => {
    const plane = controlPlane();
    const watcher = new WorkWatcher(plane.ask);
    expect(watcher.takeNews()).toBe(false);
    expect(watcher.takeNews()).toBe(false);
    expect(plane.asked).toEqual([undefined]);
    await plane.answer(4);
    // The first answer cannot tell what was sent before it: it counts as news.
    expect(watcher.takeNews()).toBe(true);
    expect(watcher.takeNews()).toBe(false);
    expect(plane.asked).toEqual([undefined, 4]);
    await plane.answer(4);
    expect(watcher.takeNews()).toBe(false);
    expect(plane.asked).toEqual([undefined, 4, 4]);
  });

  it('keeps news that came while nobody waited, and wakes a wait when it comes', async () => {
    const plane = controlPlane();
    const watcher = new WorkWatcher(plane.ask);
    watcher.takeNews();
    await plane.answer(0);
    expect(watcher.takeNews()).toBe(true);
    expect(watcher.takeNews()).toBe(false);
    await plane.answer(1);
    expect(watcher.takeNews()).toBe(true);
    // As the agent's loop does: no news, so a request is held, and the wait begins at once.
    expect(watcher.takeNews()).toBe(false);
    const waiting = watcher.wait(60_000, never);
    await plane.answer(2);
    expect(await waiting).toBe(true);
    expect(watcher.takeNews()).toBe(true);
    expect(plane.asked).toEqual([undefined, 0, 1]);
  });

  it('after a failed request: news (look again), failing for a pause, then asks again', async () => {
    let now = 0;
    const plane = controlPlane();
    const watcher = new WorkWatcher(plane.ask, 1_000, () => now);
    watcher.takeNews();
    await plane.fail();
    expect(watcher.failing).toBe(true);
    expect(watcher.takeNews()).toBe(true);
    expect(watcher.takeNews()).toBe(false);
    expect(plane.asked).toHaveLength(1);
    now = 1_000;
    expect(watcher.failing).toBe(false);
    watcher.takeNews();
    expect(plane.asked).toEqual([undefined, undefined]);
  });
});
