import { describe, expect, it } from 'vitest';
import { CountingDocumentStore } from '../../shared/adapters/counting-document-store.js';
import { CountingWorkQueue } from '../../shared/adapters/counting-work-queue.js';
import { MemoryDocumentStore } from '../../shared/adapters/memory-document-store.js';
import { MemoryWorkQueue } from '../../shared/adapters/memory-work-queue.js';
import { RequestCounter } from '../../shared/adapters/request-counter.js';
import { isStoreError } from '../../shared/ports/errors.js';
import { documentStoreConformance } from '../conformance/document-store.suite.js';
import { VirtualClock } from '../../local-host/virtual-clock.js';
import { workQueueConformance } from '../conformance/work-queue.suite.js';

// The decorators must be invisible apart from the counting: they pass the same suites.
documentStoreConformance('counting decorator over memory', async () => ({
  store: new CountingDocumentStore(new MemoryDocumentStore()),
  cleanup: async () => {},
}));

workQueueConformance('counting decorator over memory', async () => {
  const clock = new VirtualClock();
  return {
    queue: new CountingWorkQueue(new MemoryWorkQueue('tasks', clock)),
    cleanup: async () => {},
    elapse: async (ms) => clock.advance(ms),
  };
});

describe('request counting', () => {
  it('counts each store operation, failed calls included', async () => {
    const store = new CountingDocumentStore(new MemoryDocumentStore());
    const tasks = await store.container<{ id: string; jobId: string; n: number }>('tasks', '/jobId');
    const created = await tasks.create({ id: 't1', jobId: 'j1', n: 0 });
    await tasks.create({ id: 't1', jobId: 'j1', n: 0 }).catch((e: unknown) => {
      if (!isStoreError(e, 'Conflict')) throw e;
    });
    await tasks.read('t1', 'j1');
    await tasks.replace({ id: 't1', jobId: 'j1', n: 1 }, { ifMatch: created.etag });
    await tasks.upsert({ id: 't2', jobId: 'j1', n: 0 });
    await tasks.query('j1');
    await tasks.queryAll();
    await tasks.delete('t2', 'j1');
    expect(store.counter.snapshot()).toEqual({
      'store.container': 1,
      'store.create': 2,
      'store.delete': 1,
      'store.query': 1,
      'store.queryAll': 1,
      'store.read': 1,
      'store.replace': 1,
      'store.upsert': 1,
    });
    expect(store.counter.total('store')).toBe(9);
    expect(tasks.name).toBe('tasks');
    expect(tasks.partitionKeyPath).toBe('/jobId');
  });

  it('shares one counter between queues and a store, told apart by prefix', async () => {
    const counter = new RequestCounter();
    const clock = new VirtualClock();
    const tasks = new CountingWorkQueue(new MemoryWorkQueue('tasks', clock), counter);
    const results = new CountingWorkQueue(new MemoryWorkQueue('results', clock), counter, 'results-queue');
    const store = new CountingDocumentStore(new MemoryDocumentStore(), counter, 'cosmos');
    await tasks.send('a');
    await tasks.send('b');
    const [message] = await tasks.receive(1, 30_000);
    const extended = await tasks.extendLease(message!, 60_000);
    await tasks.delete(extended);
    await tasks.delete(extended).catch(() => {});
    await tasks.approximateCount();
    await tasks.clear();
    await results.send('done');
    await store.container('jobs', '/id');
    expect(counter.snapshot()).toEqual({
      'cosmos.container': 1,
      'queue.approximateCount': 1,
      'queue.clear': 1,
      'queue.delete': 2,
      'queue.extendLease': 1,
      'queue.receive': 1,
      'queue.send': 2,
      'results-queue.send': 1,
    });
    expect(counter.total('queue')).toBe(8);
    expect(counter.total()).toBe(10);
    expect(counter.get('queue.send')).toBe(2);
    expect(tasks.name).toBe('tasks');
    counter.reset();
    expect(counter.total()).toBe(0);
    expect(counter.snapshot()).toEqual({});
  });
});
