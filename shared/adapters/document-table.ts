// The in-process state behind the memory and file document stores. Writes are split into
// plan (validate against current state, produce a Mutation) and apply, so the file store can make
// a mutation durable between the two: nothing is visible before it is on disk.

import type { DocumentItem, QueryOptions, QueryPage, Stored, WhereFilter } from '../ports/document-store.js';
import { StoreError } from '../ports/errors.js';
import { checkId, parseFieldPath, parsePartitionKeyPath, partitionKeyOf, valueAt } from './document-paths.js';
import { checkLimit, compareStrings, decodeContinuation, encodeContinuation, isAfter, type PagePosition } from './keyset-continuation.js';
import { clonePlainData, copyStoredData } from './plain-data.js';

export type Mutation =
  | { op: 'container'; container: string; partitionKeyPath: string }
  | { op: 'put'; container: string; pk: string; id: string; etag: string; item: DocumentItem; version: number }
  | { op: 'delete'; container: string; pk: string; id: string };

interface Entry {
  item: DocumentItem;
  etag: string;
}

interface ContainerState {
  partitionKeyPath: string;
  pkSegments: string[];
  partitions: Map<string, Map<string, Entry>>;
  /**
   * A partition's ids in query order, kept from one query to the next until an id comes or goes:
   * paging through a large partition then costs a binary search per page, not a sort.
   */
  sortedIds: Map<string, string[]>;
}

/** What a table is besides its items: the ETag counter and each container's partition key path. */
export interface TableHeader {
  version: number;
  containers: Record<string, string>;
}

export interface TableEntry {
  container: string;
  pk: string;
  etag: string;
  item: DocumentItem;
}

export class DocumentTable {
  private readonly containers = new Map<string, ContainerState>();
  /** Grows with every put; ETags are derived from it so they never repeat within a table's life. */
  private version = 0;

  /** Undefined when the container already exists with this path; throws if with another path. */
  planContainer(name: string, partitionKeyPath: string): Mutation | undefined {
    const existing = this.containers.get(name);
    if (existing) {
      if (existing.partitionKeyPath !== partitionKeyPath) {
        throw new TypeError(
          `container ${name} is partitioned by ${existing.partitionKeyPath}, not ${partitionKeyPath}`,
        );
      }
      return undefined;
    }
    parsePartitionKeyPath(partitionKeyPath);
    return { op: 'container', container: name, partitionKeyPath };
  }

  planCreate(container: string, item: DocumentItem): Mutation {
    const { pk, id } = this.address(container, item);
    if (this.entry(container, pk, id)) {
      throw new StoreError('Conflict', `item ${id} already exists in ${container}/${pk}`);
    }
    return this.put(container, pk, id, item);
  }

  /**
   * Creates of many items, to be applied together and in order: each later one gets the next
   * version. An item that cannot be created (it exists, or repeats an id earlier in `items`) is
   * left out, and the first such error is returned alongside.
   */
  planCreates(container: string, items: readonly DocumentItem[]): { mutations: Mutation[]; failure?: unknown } {
    const mutations: Mutation[] = [];
    const planned = new Set<string>();
    let failure: unknown;
    for (const item of items) {
      try {
        const { pk, id } = this.address(container, item);
        const key = `${pk}\u0000${id}`;
        if (this.entry(container, pk, id) || planned.has(key)) {
          throw new StoreError('Conflict', `item ${id} already exists in ${container}/${pk}`);
        }
        planned.add(key);
        mutations.push(this.put(container, pk, id, item, mutations.length));
      } catch (error) {
        failure ??= error;
      }
    }
    return failure === undefined ? { mutations } : { mutations, failure };
  }

  planReplace(container: string, item: DocumentItem, ifMatch: string): Mutation {
    const { pk, id } = this.address(container, item);
    const current = this.entry(container, pk, id);
    if (!current) throw new StoreError('NotFound', `item ${id} not found in ${container}/${pk}`);
    if (current.etag !== ifMatch) {
      throw new StoreError('PreconditionFailed', `item ${id} in ${container}/${pk} has changed`);
    }
    return this.put(container, pk, id, item);
  }

  planUpsert(container: string, item: DocumentItem): Mutation {
    const { pk, id } = this.address(container, item);
    return this.put(container, pk, id, item);
  }

  planDelete(container: string, id: string, pk: string, ifMatch?: string): Mutation {
    const current = this.entry(container, pk, id);
    if (!current) throw new StoreError('NotFound', `item ${id} not found in ${container}/${pk}`);
    if (ifMatch !== undefined && current.etag !== ifMatch) {
      throw new StoreError('PreconditionFailed', `item ${id} in ${container}/${pk} has changed`);
    }
    return { op: 'delete', container, pk, id };
  }

  /** Applies a planned, journaled or snapshot mutation; a put's item is kept, not copied. */
  apply(mutation: Mutation): void {
    switch (mutation.op) {
      case 'container':
        if (!this.containers.has(mutation.container)) {
          this.containers.set(mutation.container, {
            partitionKeyPath: mutation.partitionKeyPath,
            pkSegments: parsePartitionKeyPath(mutation.partitionKeyPath),
            partitions: new Map(),
            sortedIds: new Map(),
          });
        }
        return;
      case 'put': {
        const state = this.state(mutation.container);
        let partition = state.partitions.get(mutation.pk);
        if (!partition) state.partitions.set(mutation.pk, (partition = new Map()));
        if (!partition.has(mutation.id)) state.sortedIds.delete(mutation.pk);
        // The item becomes the stored copy: a planned put's item is already a private copy, and
        // a journal's or snapshot's was just parsed.
        partition.set(mutation.id, { item: mutation.item, etag: mutation.etag });
        this.version = Math.max(this.version, mutation.version);
        return;
      }
      case 'delete': {
        const state = this.state(mutation.container);
        const partition = state.partitions.get(mutation.pk);
        partition?.delete(mutation.id);
        state.sortedIds.delete(mutation.pk);
        if (partition?.size === 0) state.partitions.delete(mutation.pk);
        return;
      }
    }
  }

  read<T extends DocumentItem>(container: string, id: string, pk: string): Stored<T> | undefined {
    const entry = this.entry(container, pk, id);
    return entry && stored<T>(entry);
  }

  /** One partition when pk is given, else every partition ordered by (id, pk). */
  query<T extends DocumentItem>(container: string, pk: string | undefined, options: QueryOptions = {}): QueryPage<T> {
    checkLimit(options.limit);
    const matches = compileWhere(options.where);
    const after = options.continuation === undefined ? undefined : decodeContinuation(options.continuation);
    const state = this.state(container);
    if (pk !== undefined) return this.queryPartition<T>(state, pk, matches, after, options.limit);
    const candidates: Array<{ pk: string; entry: Entry }> = [];
    for (const [partitionKey, partition] of state.partitions) {
      for (const [id, entry] of partition) {
        if (isAfter(id, partitionKey, after) && matches(entry.item)) candidates.push({ pk: partitionKey, entry });
      }
    }
    candidates.sort((a, b) => compareStrings(a.entry.item.id, b.entry.item.id) || compareStrings(a.pk, b.pk));
    if (options.limit === undefined || candidates.length <= options.limit) {
      return { items: candidates.map((c) => stored<T>(c.entry)) };
    }
    const page = candidates.slice(0, options.limit);
    const last = page[page.length - 1]!;
    return { items: page.map((c) => stored<T>(c.entry)), continuation: encodeContinuation({ id: last.entry.item.id, pk: last.pk }) };
  }

  private queryPartition<T>(
    state: ContainerState,
    pk: string,
    matches: (item: unknown) => boolean,
    after: PagePosition | undefined,
    limit: number | undefined,
  ): QueryPage<T> {
    const partition = state.partitions.get(pk);
    if (!partition) return { items: [] };
    let ids = state.sortedIds.get(pk);
    if (!ids) state.sortedIds.set(pk, (ids = [...partition.keys()].sort(compareStrings)));
    // Within one partition, "after the position" only grows with the id: binary search for the first.
    let low = 0;
    let high = ids.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (isAfter(ids[middle]!, pk, after)) high = middle;
      else low = middle + 1;
    }
    const page: Entry[] = [];
    for (let i = low; i < ids.length; i++) {
      const entry = partition.get(ids[i]!)!;
      if (!matches(entry.item)) continue;
      if (page.length === limit) {
        return { items: page.map((e) => stored<T>(e)), continuation: encodeContinuation({ id: page[page.length - 1]!.item.id }) };
      }
      page.push(entry);
    }
    return { items: page.map((e) => stored<T>(e)) };
  }

  hasContainer(name: string): boolean {
    return this.containers.has(name);
  }

  itemCount(): number {
    let count = 0;
    for (const state of this.containers.values()) {
      for (const partition of state.partitions.values()) count += partition.size;
    }
    return count;
  }

  header(): TableHeader {
    const containers: Record<string, string> = {};
    for (const [name, state] of this.containers) containers[name] = state.partitionKeyPath;
    return { version: this.version, containers };
  }

  /** Every item, one at a time, so a snapshot of any size is written without building it whole. */
  *entries(): Generator<TableEntry> {
    for (const [container, state] of this.containers) {
      for (const [pk, partition] of state.partitions) {
        for (const entry of partition.values()) yield { container, pk, etag: entry.etag, item: entry.item };
      }
    }
  }

  static restore(header: TableHeader, entries: Iterable<TableEntry>): DocumentTable {
    const table = new DocumentTable();
    for (const [container, partitionKeyPath] of Object.entries(header.containers)) table.apply({ op: 'container', container, partitionKeyPath });
    for (const { container, pk, etag, item } of entries) table.apply({ op: 'put', container, pk, id: item.id, etag, item, version: 0 });
    table.version = header.version;
    return table;
  }

  /** `ahead`: puts planned before this one and not applied yet. */
  private put(container: string, pk: string, id: string, item: DocumentItem, ahead = 0): Mutation {
    const version = this.version + 1 + ahead;
    // The clone both detaches the stored copy from the caller's object and proves it is plain data.
    return { op: 'put', container, pk, id, etag: `"${version}"`, item: clonePlainData(item), version };
  }

  private address(container: string, item: DocumentItem): { pk: string; id: string } {
    checkId(item?.id);
    return { pk: partitionKeyOf(item, this.state(container).pkSegments), id: item.id };
  }

  private entry(container: string, pk: string, id: string): Entry | undefined {
    return this.state(container).partitions.get(pk)?.get(id);
  }

  private state(container: string): ContainerState {
    const state = this.containers.get(container);
    if (!state) throw new StoreError('NotFound', `container ${container} does not exist`);
    return state;
  }
}

function stored<T>(entry: Entry): Stored<T> {
  return { item: copyStoredData(entry.item) as T, etag: entry.etag };
}

function compileWhere(where: WhereFilter | undefined): (item: unknown) => boolean {
  const conditions = Object.entries(where ?? {}).map(([field, value]) => ({ path: parseFieldPath(field), value }));
  return (item) => conditions.every((c) => valueAt(item, c.path) === c.value);
}
