// A DocumentStore decorator that counts every call, failed ones included (each is still a request
// to the service), as "<prefix>.<operation>" in a RequestCounter.

import { CREATE_MANY_BATCH, type Container, type DocumentItem, type DocumentStore, type QueryOptions, type QueryPage, type Stored } from '../ports/document-store.js';
import { RequestCounter } from './request-counter.js';

export class CountingDocumentStore implements DocumentStore {
  constructor(
    private readonly inner: DocumentStore,
    readonly counter: RequestCounter = new RequestCounter(),
    private readonly prefix = 'store',
  ) {}

  async container<T extends DocumentItem>(name: string, partitionKeyPath: string): Promise<Container<T>> {
    this.counter.increment(`${this.prefix}.container`);
    const inner = await this.inner.container<T>(name, partitionKeyPath);
    return new CountingContainer<T>(inner, (operation) => this.counter.increment(`${this.prefix}.${operation}`));
  }
}

class CountingContainer<T extends DocumentItem> implements Container<T> {
  constructor(
    private readonly inner: Container<T>,
    private readonly count: (operation: string) => void,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get partitionKeyPath(): string {
    return this.inner.partitionKeyPath;
  }

  create(item: T): Promise<Stored<T>> {
    this.count('create');
    return this.inner.create(item);
  }

  /** Counted as the requests Cosmos DB would take for items of one partition (a job's tasks): one per CREATE_MANY_BATCH. */
  createMany(items: readonly T[]): Promise<Stored<T>[]> {
    for (let i = 0; i < items.length; i += CREATE_MANY_BATCH) this.count('createMany');
    return this.inner.createMany(items);
  }

  read(id: string, partitionKey: string): Promise<Stored<T> | undefined> {
    this.count('read');
    return this.inner.read(id, partitionKey);
  }

  replace(item: T, options: { ifMatch: string }): Promise<Stored<T>> {
    this.count('replace');
    return this.inner.replace(item, options);
  }

  upsert(item: T): Promise<Stored<T>> {
    this.count('upsert');
    return this.inner.upsert(item);
  }

  delete(id: string, partitionKey: string, options?: { ifMatch?: string }): Promise<void> {
    this.count('delete');
    return this.inner.delete(id, partitionKey, options);
  }

  query(partitionKey: string, options?: QueryOptions): Promise<QueryPage<T>> {
    this.count('query');
    return this.inner.query(partitionKey, options);
  }

  queryAll(options?: QueryOptions): Promise<QueryPage<T>> {
    this.count('queryAll');
    return this.inner.queryAll(options);
  }
}
