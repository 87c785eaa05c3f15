// The document store as the simulated world sees it: the real MemoryDocumentStore underneath (so
// a stale ETag really fails with 412), every call a scheduling point of the calling thread, and
// throttling (429 with retry-after) and transient 503s injected from the seed. Successful writes
// are reported to the monitors, which see every state each document passes through.
import { createEach } from '../../shared/adapters/create-each.js';
import type { Container, DocumentItem, DocumentStore, QueryOptions, QueryPage, Stored } from '../../shared/ports/document-store.js';
import { StoreError } from '../../shared/ports/errors.js';
import type { Kernel, SimThread } from '../kernel.js';
import type { Prng } from '../prng.js';

export interface StoreFaults {
  /** Chance that a call fails with 429 (Throttled) instead of running. */
  throttle: number;
  /** Chance that a call fails with 503 (Unavailable) instead of running. */
  unavailable: number;
  /** Which threads see them: the Cosmos SDK retries 429s itself, so by default only request paths do. */
  threads: readonly SimThread['kind'][];
}

export const NO_STORE_FAULTS: StoreFaults = { throttle: 0, unavailable: 0, threads: [] };

export type WriteObserver = (container: string, id: string, partitionKey: string, item: DocumentItem | undefined, thread: SimThread) => void;

export interface SimStoreEnv {
  kernel: Kernel;
  prng: Prng;
  faults: StoreFaults;
  observe: WriteObserver;
  /** Notes an injected fault in the trace. */
  note(line: string): void;
}

/** The store for one thread: the same data, every call stopping at a point of that thread. */
export class SimDocumentStore implements DocumentStore {
  constructor(
    private readonly inner: DocumentStore,
    private readonly thread: SimThread,
    private readonly env: SimStoreEnv,
  ) {}

  async container<T extends DocumentItem>(name: string, partitionKeyPath: string): Promise<Container<T>> {
    return new SimContainer<T>(await this.inner.container<T>(name, partitionKeyPath), this.thread, this.env);
  }
}

class SimContainer<T extends DocumentItem> implements Container<T> {
  readonly name: string;
  readonly partitionKeyPath: string;

  constructor(
    private readonly inner: Container<T>,
    private readonly thread: SimThread,
    private readonly env: SimStoreEnv,
  ) {
    this.name = inner.name;
    this.partitionKeyPath = inner.partitionKeyPath;
  }

  async create(item: T): Promise<Stored<T>> {
    await this.gate(`create ${this.name}/${item.id}`);
    const stored = await this.inner.create(item);
    this.written(stored.item);
    return stored;
  }

  /** One point of the thread for the whole call, as it is one request (or a few) to the service. */
  async createMany(items: readonly T[]): Promise<Stored<T>[]> {
    await this.gate(`createMany ${this.name} x${items.length}`);
    return createEach(items, async (item) => {
      const stored = await this.inner.create(item);
      this.written(stored.item);
      return stored;
    });
  }

  async read(id: string, partitionKey: string): Promise<Stored<T> | undefined> {
    await this.gate(`read ${this.name}/${id}`);
    return this.inner.read(id, partitionKey);
  }

  async replace(item: T, options: { ifMatch: string }): Promise<Stored<T>> {
    await this.gate(`replace ${this.name}/${item.id}`);
    const stored = await this.inner.replace(item, options);
    this.written(stored.item);
    return stored;
  }

  async upsert(item: T): Promise<Stored<T>> {
    await this.gate(`upsert ${this.name}/${item.id}`);
    const stored = await this.inner.upsert(item);
    this.written(stored.item);
    return stored;
  }

  async delete(id: string, partitionKey: string, options?: { ifMatch?: string }): Promise<void> {
    await this.gate(`delete ${this.name}/${id}`);
    await this.inner.delete(id, partitionKey, options);
    this.env.observe(this.name, id, partitionKey, undefined, this.thread);
  }

  async query(partitionKey: string, options?: QueryOptions): Promise<QueryPage<T>> {
    await this.gate(`query ${this.name}/${partitionKey}${describeWhere(options)}`);
    return this.inner.query(partitionKey, options);
  }

  async queryAll(options?: QueryOptions): Promise<QueryPage<T>> {
    await this.gate(`query ${this.name}/*${describeWhere(options)}`);
    return this.inner.queryAll(options);
  }

  private async gate(label: string): Promise<void> {
    await this.env.kernel.point(this.thread, label);
    const { faults, prng } = this.env;
    if (!faults.threads.includes(this.thread.kind)) return;
    if (faults.throttle > 0 && prng.chance(faults.throttle)) {
      const retryAfterMs = prng.between(5, 500);
      this.env.note(`fault: 429 on ${label} (retry after ${retryAfterMs} ms) for ${this.thread.name}`);
      throw new StoreError('Throttled', `Request rate is large (simulated) on ${label}`, { retryAfterMs });
    }
    if (faults.unavailable > 0 && prng.chance(faults.unavailable)) {
      this.env.note(`fault: 503 on ${label} for ${this.thread.name}`);
      throw new StoreError('Unavailable', `Service unavailable (simulated) on ${label}`);
    }
  }

  private written(item: DocumentItem): void {
    const path = this.partitionKeyPath.slice(1).split('/');
    let pk: unknown = item;
    for (const segment of path) pk = (pk as Record<string, unknown> | undefined)?.[segment];
    this.env.observe(this.name, item.id, String(pk), item, this.thread);
  }
}

function describeWhere(options?: QueryOptions): string {
  if (!options?.where) return '';
  return ` where ${Object.entries(options.where).map(([k, v]) => `${k}=${v}`).join(',')}`;
}
