// The backend's scheduler decides which ready work item runs next: a seeded one gives the same
// interleaving every time, and a different one a different interleaving.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDurableBackend } from '../../local-host/durable/create-backend.js';
import type { DurableBackend, Scheduler } from '../../local-host/durable/backend.js';
import { loadFixture } from '../support/fixture-app.js';

let fixture: Awaited<ReturnType<typeof loadFixture>>;
const backends: DurableBackend[] = [];
beforeAll(async () => {
  fixture = await loadFixture('durable-app');
});
afterEach(() => backends.splice(0).forEach((b) => b.close()));

function seeded(seed: number): Scheduler {
  let state = seed >>> 0;
  return {
    pick(ready) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state % ready.length;
    },
  };
}

/** The order in which the fan-out's activities completed, read from the history. */
async function completionOrder(scheduler: Scheduler | undefined): Promise<number[]> {
  let ids = 0;
  const backend = createDurableBackend({
    app: fixture.app,
    invoke: fixture.invoke,
    hubName: 'sched',
    maxConcurrentActivities: 1,
    scheduler,
    newExecutionId: () => `e${ids++}`,
  });
  backends.push(backend);
  backend.startDriver();
  const id = backend.startNew('fanOutFanIn', { input: 8, instanceId: 'fan' });
  await backend.waitFor(id);
  const history = backend.getStatus(id, { showHistory: true, showHistoryOutput: true })!.historyEvents!;
  return history.filter((e) => e.EventType === 'TaskCompleted').map((e) => e.Result as number);
}

describe('an injected scheduler', () => {
  it('runs ready work in the order it picks', async () => {
    const lastFirst: Scheduler = { pick: (ready) => ready.length - 1 };
    expect(await completionOrder(lastFirst)).toEqual([14, 12, 10, 8, 6, 4, 2, 0]);
    expect(await completionOrder(undefined)).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
  });

  it('reproduces the same interleaving from the same seed', async () => {
    const first = await completionOrder(seeded(42));
    expect(await completionOrder(seeded(42))).toEqual(first);
    expect(first.slice().sort((a, b) => a - b)).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
    const others = await Promise.all([1, 2, 3].map(async (s) => (await completionOrder(seeded(s))).join(',')));
    expect(new Set([first.join(','), ...others]).size).toBeGreaterThan(1);
  });
});
