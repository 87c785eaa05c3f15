// The document store port: containers of JSON items, each with an `id` and a partition key taken
// from the item at the container's partition key path (Cosmos DB's model). Every write returns
// the item's new ETag; replace and conditional delete take the ETag the caller last saw, so a
// late or duplicated writer fails with StoreError('PreconditionFailed') instead of overwriting.
//
// Errors are StoreError (./errors.ts): create of an existing id -> Conflict; replace/delete of a
// missing item -> NotFound; stale ETag -> PreconditionFailed.

export type DocumentItem = { id: string };

export interface Stored<T> {
  item: T;
  /** Opaque; changes on every write of the item. */
  etag: string;
}

/** Equality filters on fields; a key may be a dotted path to a nested field ("spec.kind"). */
export type WhereFilter = Record<string, string | number | boolean>;

export interface QueryOptions {
  where?: WhereFilter;
  /** Page size. Without it the whole result comes back in one page. */
  limit?: number;
  /** The token from the previous page. */
  continuation?: string;
}

export interface QueryPage<T> {
  /** Ordered by id (and, across partitions, then by partition key), so paging is deterministic. */
  items: Stored<T>[];
  /** Present only when more items may follow. */
  continuation?: string;
}

/**
 * Cosmos DB takes at most this many operations in one transactional batch: a createMany of this
 * many items of one partition is one request there.
 */
export const CREATE_MANY_BATCH = 100;

export interface Container<T extends DocumentItem> {
  readonly name: string;
  /** e.g. "/jobId"; nested paths like "/job/id" are allowed. The value there must be a string. */
  readonly partitionKeyPath: string;
  create(item: T): Promise<Stored<T>>;
  /**
   * Creates many items (of any partitions) in far fewer round trips than one create each: a
   * large job's tasks are written this way. Not atomic: every item that can be created is, and
   * if any cannot (Conflict, including an id repeated in `items`), the call rejects with the first
   * such item's error once the rest are settled, so a clean-up afterwards sees all that was written.
   * Resolves with the items as stored, in the order given.
   */
  createMany(items: readonly T[]): Promise<Stored<T>[]>;
  read(id: string, partitionKey: string): Promise<Stored<T> | undefined>;
  /** Replaces the existing item only if its ETag still equals ifMatch. */
  replace(item: T, options: { ifMatch: string }): Promise<Stored<T>>;
  /** Creates or overwrites, unconditionally. */
  upsert(item: T): Promise<Stored<T>>;
  delete(id: string, partitionKey: string, options?: { ifMatch?: string }): Promise<void>;
  /** Items of one partition. */
  query(partitionKey: string, options?: QueryOptions): Promise<QueryPage<T>>;
  /** Items of every partition (a cross-partition query: use for listings, not hot paths). */
  queryAll(options?: QueryOptions): Promise<QueryPage<T>>;
}

export interface DocumentStore {
  /**
   * Opens the container, creating it if missing. Asking again for the same name with a different
   * partition key path is an error.
   */
  container<T extends DocumentItem>(name: string, partitionKeyPath: string): Promise<Container<T>>;
}
