// A submission whose task documents cannot all be written (the store failing part-way through its
// batches) leaves nothing behind: no job and none of the tasks already written, and the same job id
// can be submitted again at once.
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryDocumentStore } from '../../shared/adapters/memory-document-store.js';
import { LocalScaleSetProvider } from '../../shared/adapters/local-scale-set-provider.js';
import { appContext, setAppContext } from '../../shared/app/context.js';
import { CONTAINERS, jobKey } from '../../shared/app/documents.js';
import { createJob, type Services } from '../../shared/app/job-service.js';
import { createPool } from '../../shared/app/pool-service.js';
import type { Container, DocumentItem, DocumentStore, Stored } from '../../shared/ports/document-store.js';
import { StoreError } from '../../shared/ports/errors.js';

/** A memory store whose tasks container fails its `failOnCall`-th createMany, after writing the first half of it. */
class FailingBatchStore implements DocumentStore {
  readonly inner = new MemoryDocumentStore();
  calls = 0;

  constructor(private readonly failOnCall: number) {}

  async container<T extends DocumentItem>(name: string, partitionKeyPath: string): Promise<Container<T>> {
    const container = await this.inner.container<T>(name, partitionKeyPath);
    if (name !== CONTAINERS.tasks.name) return container;
    const createMany = async (items: readonly T[]): Promise<Stored<T>[]> => {
      if (++this.calls !== this.failOnCall) return container.createMany(items);
      await container.createMany(items.slice(0, items.length / 2));
      throw new StoreError('Unavailable', 'the store went away part-way through a batch');
    };
    return Object.assign(Object.create(container) as Container<T>, { createMany });
  }
}

const provider = new LocalScaleSetProvider({ endpoint: 'http://127.0.0.1:9/api', agentKey: 'unused', storageConnectionString: 'UseDevelopmentStorage=true', workRoot: '/nonexistent' });
const started: string[] = [];

async function servicesOver(store: DocumentStore): Promise<Services> {
  setAppContext({ store, scaleSets: async () => provider });
  const ctx = await appContext();
  await createPool(ctx, { id: 'p', vmSize: 'Standard_D2s_v5', targetDedicatedNodes: 0, taskSlotsPerNode: 1 });
  return {
    ctx,
    orchestrations: {
      start: async (instanceId) => void started.push(instanceId),
      raise: async () => undefined,
      terminate: async () => undefined,
    },
  };
}

function job(tasks: number): unknown {
  return { id: 'big', poolInfo: { poolId: 'p' }, tasks: Array.from({ length: tasks }, (_, i) => ({ id: `t${i}`, commandLine: '/bin/true' })) };
}

afterEach(() => {
  started.length = 0;
});

describe('a submission the store fails part-way', () => {
  it('leaves no job and no task behind, starts nothing, and the id can be used again', async () => {
    const store = new FailingBatchStore(3);
    const s = await servicesOver(store);
    await expect(createJob(s, job(1000))).rejects.toThrow(/part-way/);
    // Ten batches of 100 were asked for, and some were written before the third failed.
    expect(store.calls).toBeGreaterThanOrEqual(3);
    expect(await s.ctx.jobs.read(jobKey('big'), jobKey('big'))).toBeUndefined();
    expect((await s.ctx.tasks.query(jobKey('big'))).items).toEqual([]);
    expect(started).toEqual([]);

    const again = await createJob(s, job(1000));
    expect(again.item.jobId).toBe('big');
    expect((await s.ctx.tasks.query(jobKey('big'))).items).toHaveLength(1000);
    expect(started).toHaveLength(1);
  });
});
