// A DocumentStore over a DocumentTable. Each write is planned against the table, then committed;
// the file store overrides commit and commitMany to journal the mutations before applying them,
// so a write that fails to persist is never visible. Every read returns a copy: callers cannot
// mutate stored state.

import { giveWay } from '../give-way.js';
import type { Container, DocumentItem, DocumentStore, QueryOptions, QueryPage, Stored } from '../ports/document-store.js';
import { DocumentTable, type Mutation } from './document-table.js';
import { copyStoredData } from './plain-data.js';

export class TableDocumentStore implements DocumentStore {
  constructor(protected readonly table: DocumentTable) {}

  async container<T extends DocumentItem>(name: string, partitionKeyPath: string): Promise<Container<T>> {
    const mutation = this.table.planContainer(name, partitionKeyPath);
    if (mutation) this.commit(mutation);
    return new TableContainer<T>(name, partitionKeyPath, this.table, {
      one: (m) => this.commit(m),
      many: (ms) => this.commitMany(ms),
    });
  }

  protected commit(mutation: Mutation): void {
    this.table.apply(mutation);
  }

  /** Mutations planned together, committed in order. */
  protected commitMany(mutations: readonly Mutation[]): void {
    for (const mutation of mutations) this.table.apply(mutation);
  }
}

class TableContainer<T extends DocumentItem> implements Container<T> {
  constructor(
    readonly name: string,
    readonly partitionKeyPath: string,
    private readonly table: DocumentTable,
    private readonly committer: { one(mutation: Mutation): void; many(mutations: readonly Mutation[]): void },
  ) {}

  async create(item: T): Promise<Stored<T>> {
    return this.write(this.table.planCreate(this.name, item));
  }

  // Reads and writes of one item are short and run to their end. A large job's tasks are
  // written a thousand batches at a time and read a page at a time: each batch and page gives
  // way first, or every other request would wait for all of them.
  async createMany(items: readonly T[]): Promise<Stored<T>[]> {
    await giveWay();
    const { mutations, failure } = this.table.planCreates(this.name, items);
    this.committer.many(mutations);
    if (failure !== undefined) throw failure;
    return mutations.map((mutation) => stored<T>(mutation));
  }

  async read(id: string, partitionKey: string): Promise<Stored<T> | undefined> {
    return this.table.read<T>(this.name, id, partitionKey);
  }

  async replace(item: T, options: { ifMatch: string }): Promise<Stored<T>> {
    return this.write(this.table.planReplace(this.name, item, options.ifMatch));
  }

  async upsert(item: T): Promise<Stored<T>> {
    return this.write(this.table.planUpsert(this.name, item));
  }

  async delete(id: string, partitionKey: string, options: { ifMatch?: string } = {}): Promise<void> {
    this.committer.one(this.table.planDelete(this.name, id, partitionKey, options.ifMatch));
  }

  async query(partitionKey: string, options?: QueryOptions): Promise<QueryPage<T>> {
    await giveWay();
    return this.table.query<T>(this.name, partitionKey, options);
  }

  async queryAll(options?: QueryOptions): Promise<QueryPage<T>> {
    await giveWay();
    return this.table.query<T>(this.name, undefined, options);
  }

  private write(mutation: Mutation): Stored<T> {
    this.committer.one(mutation);
    return stored<T>(mutation);
  }
}

function stored<T>(mutation: Mutation): Stored<T> {
  if (mutation.op !== 'put') throw new Error('a write must plan a put');
  return { item: copyStoredData(mutation.item) as T, etag: mutation.etag };
}
