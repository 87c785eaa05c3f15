// The document store underneath the simulated world: the semantics of the memory adapter (ETags
// from a counter, Conflict / NotFound / PreconditionFailed, keyset paging ordered by id then
// partition key), passing the same conformance suite, with fewer and cheaper copies. Every read
// and write still copies, so no caller can change stored state by mutating what it was handed;
// only the read-only view for the simulator's own judges (peekView) hands out the stored
// documents themselves.
import { createEach } from '../../shared/adapters/create-each.js';
import { checkId, parseFieldPath, parsePartitionKeyPath, partitionKeyOf, valueAt } from '../../shared/adapters/document-paths.js';
import { checkLimit, compareStrings, decodeContinuation, encodeContinuation, isAfter } from '../../shared/adapters/keyset-continuation.js';
import type { Container, DocumentItem, DocumentStore, QueryOptions, QueryPage, Stored, WhereFilter } from '../../shared/ports/document-store.js';
import { StoreError } from '../../shared/ports/errors.js';
import { plainCopy } from '../../shared/plain-copy.js';

interface Entry {
  item: DocumentItem;
  etag: string;
}

interface Table {
  partitionKeyPath: string;
  pkSegments: string[];
  partitions: Map<string, Map<string, Entry>>;
}

export class SimMemoryStore implements DocumentStore {
  private readonly tables = new Map<string, Table>();
  private readonly handles = new Map<string, SimMemoryContainer<DocumentItem>>();
  private readonly peekHandles = new Map<string, SimMemoryContainer<DocumentItem>>();
  private version = 0;
  private peeking?: DocumentStore;

  /** Grows with every write, so a reader can tell that nothing changed. */
  get writes(): number {
    return this.version;
  }

  async container<T extends DocumentItem>(name: string, partitionKeyPath: string): Promise<Container<T>> {
    const existing = this.tables.get(name);
    if (existing && existing.partitionKeyPath !== partitionKeyPath) {
      throw new TypeError(`container ${name} is partitioned by ${existing.partitionKeyPath}, not ${partitionKeyPath}`);
    }
    if (!existing) {
      this.tables.set(name, { partitionKeyPath, pkSegments: parsePartitionKeyPath(partitionKeyPath), partitions: new Map() });
    }
    return this.handle(this.handles, name, handOut) as unknown as Container<T>;
  }

  /**
   * The same documents for readers that only look (the simulator's quiet-work judges): reads hand
   * out the stored documents themselves, uncopied, so a reader must never change them; writes
   * are refused.
   */
  peekView(): DocumentStore {
    this.peeking ??= {
      container: async <T extends DocumentItem>(name: string, partitionKeyPath: string) => {
        await this.container(name, partitionKeyPath);
        return this.handle(this.peekHandles, name, handOver) as unknown as Container<T>;
      },
    };
    return this.peeking;
  }

  private handle(handles: Map<string, SimMemoryContainer<DocumentItem>>, name: string, out: HandOut): SimMemoryContainer<DocumentItem> {
    let handle = handles.get(name);
    if (!handle) {
      const writable = out === handOut;
      handle = new SimMemoryContainer(name, this.tables.get(name)!, writable ? () => `"${++this.version}"` : undefined, out);
      handles.set(name, handle);
    }
    return handle;
  }
}

type HandOut = <T>(entry: Entry) => Stored<T>;

class SimMemoryContainer<T extends DocumentItem> implements Container<T> {
  readonly partitionKeyPath: string;

  constructor(
    readonly name: string,
    private readonly table: Table,
    /** Absent for a read-only view. */
    private readonly nextEtag: (() => string) | undefined,
    private readonly out: HandOut,
  ) {
    this.partitionKeyPath = table.partitionKeyPath;
  }

  async create(item: T): Promise<Stored<T>> {
    const { pk, id } = this.address(item);
    if (this.entry(pk, id)) throw new StoreError('Conflict', `item ${id} already exists in ${this.name}/${pk}`);
    return this.put(pk, id, item);
  }

  createMany(items: readonly T[]): Promise<Stored<T>[]> {
    return createEach(items, (item) => this.create(item));
  }

  async read(id: string, partitionKey: string): Promise<Stored<T> | undefined> {
    const entry = this.entry(partitionKey, id);
    return entry && this.out<T>(entry);
  }

  async replace(item: T, options: { ifMatch: string }): Promise<Stored<T>> {
    const { pk, id } = this.address(item);
    const current = this.entry(pk, id);
    if (!current) throw new StoreError('NotFound', `item ${id} not found in ${this.name}/${pk}`);
    if (current.etag !== options.ifMatch) throw new StoreError('PreconditionFailed', `item ${id} in ${this.name}/${pk} has changed`);
    return this.put(pk, id, item);
  }

  async upsert(item: T): Promise<Stored<T>> {
    const { pk, id } = this.address(item);
    return this.put(pk, id, item);
  }

  async delete(id: string, partitionKey: string, options: { ifMatch?: string } = {}): Promise<void> {
    const current = this.entry(partitionKey, id);
    if (!current) throw new StoreError('NotFound', `item ${id} not found in ${this.name}/${partitionKey}`);
    if (options.ifMatch !== undefined && current.etag !== options.ifMatch) {
      throw new StoreError('PreconditionFailed', `item ${id} in ${this.name}/${partitionKey} has changed`);
    }
    this.writable();
    const partition = this.table.partitions.get(partitionKey)!;
    partition.delete(id);
    if (partition.size === 0) this.table.partitions.delete(partitionKey);
  }

  async query(partitionKey: string, options?: QueryOptions): Promise<QueryPage<T>> {
    return this.select(partitionKey, options);
  }

  async queryAll(options?: QueryOptions): Promise<QueryPage<T>> {
    return this.select(undefined, options);
  }

  private select(pk: string | undefined, options: QueryOptions = {}): QueryPage<T> {
    checkLimit(options.limit);
    const matches = compileWhere(options.where);
    const after = options.continuation === undefined ? undefined : decodeContinuation(options.continuation);
    const found: { pk: string; entry: Entry }[] = [];
    const scan = (partitionKey: string, partition: Map<string, Entry> | undefined) => {
      if (!partition) return;
      for (const [id, entry] of partition) {
        if (isAfter(id, partitionKey, after) && matches(entry.item)) found.push({ pk: partitionKey, entry });
      }
    };
    if (pk === undefined) for (const [partitionKey, partition] of this.table.partitions) scan(partitionKey, partition);
    else scan(pk, this.table.partitions.get(pk));
    found.sort((a, b) => compareStrings(a.entry.item.id, b.entry.item.id) || compareStrings(a.pk, b.pk));
    if (options.limit === undefined || found.length <= options.limit) return { items: found.map((f) => this.out<T>(f.entry)) };
    const page = found.slice(0, options.limit);
    const last = page[page.length - 1]!;
    const position = pk === undefined ? { id: last.entry.item.id, pk: last.pk } : { id: last.entry.item.id };
    return { items: page.map((f) => this.out<T>(f.entry)), continuation: encodeContinuation(position) };
  }

  private put(pk: string, id: string, item: T): Stored<T> {
    const entry: Entry = { item: plainCopy(item), etag: this.etag() };
    let partition = this.table.partitions.get(pk);
    if (!partition) this.table.partitions.set(pk, (partition = new Map()));
    partition.set(id, entry);
    return handOut<T>(entry);
  }

  private etag(): string {
    return this.writable()();
  }

  private writable(): () => string {
    if (!this.nextEtag) throw new TypeError(`${this.name}: this view of the store is read-only`);
    return this.nextEtag;
  }

  private address(item: T): { pk: string; id: string } {
    checkId(item?.id);
    return { pk: partitionKeyOf(item, this.table.pkSegments), id: item.id };
  }

  private entry(pk: string, id: string): Entry | undefined {
    return this.table.partitions.get(pk)?.get(id);
  }
}

function handOut<T>(entry: Entry): Stored<T> {
  return { item: plainCopy(entry.item) as T, etag: entry.etag };
}

function handOver<T>(entry: Entry): Stored<T> {
  return { item: entry.item as T, etag: entry.etag };
}

function compileWhere(where: WhereFilter | undefined): (item: unknown) => boolean {
  const conditions = Object.entries(where ?? {}).map(([field, value]) => ({ path: parseFieldPath(field), value }));
  if (conditions.length === 0) return () => true;
  return (item) => conditions.every((c) => valueAt(item, c.path) === c.value);
}
