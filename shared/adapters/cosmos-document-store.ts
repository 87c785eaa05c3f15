// A DocumentStore over Azure Cosmos DB (NoSQL API) through the real @azure/cosmos client; also
// runs against the local Cosmos protocol server.
//
// - The database and each container are created if missing (container: partition key path plus a
//   composite index on (id, partition key), which cross-partition listings order by).
// - Guarded writes send the ETag as If-Match; Cosmos answers 412 when it no longer matches.
// - Queries are parameterised SQL. Paging is keyset paging on id (then partition key), not Cosmos
//   continuation tokens: the tokens are the same as the other adapters', stay valid across
//   writes, and do not depend on the service's query plans.
// - Single-partition queries name the partition key in the WHERE clause as well as in the request
//   options: the local protocol server ignores the option.
// - Cosmos system properties (_rid, _self, _etag, _attachments, _ts) are stripped from items.

import type { Container as CosmosContainer, CosmosClient, Database, ItemDefinition, JSONObject, OperationInput, OperationResponse, SqlParameter } from '@azure/cosmos';
import type { Container, DocumentItem, DocumentStore, QueryOptions, QueryPage, Stored } from '../ports/document-store.js';
import { StoreError } from '../ports/errors.js';
import { forEachInOrder } from '../in-order.js';
import { splitIntoBatches, type Batch } from './cosmos-batches.js';
import { checkId, parseFieldPath, parsePartitionKeyPath, partitionKeyOf } from './document-paths.js';
import { checkLimit, decodeContinuation, encodeContinuation } from './keyset-continuation.js';

const SYSTEM_PROPERTIES = ['_rid', '_self', '_etag', '_attachments', '_ts'] as const;

/** Transactional batches of one createMany in flight at once. */
const BATCH_CONCURRENCY = 8;

export class CosmosDocumentStore implements DocumentStore {
  private database?: Promise<Database>;
  private readonly containers = new Map<string, Promise<{ container: CosmosContainer; partitionKeyPath: string }>>();

  constructor(
    private readonly client: CosmosClient,
    readonly databaseId: string,
  ) {}

  async container<T extends DocumentItem>(name: string, partitionKeyPath: string): Promise<Container<T>> {
    const pkSegments = parsePartitionKeyPath(partitionKeyPath);
    let opening = this.containers.get(name);
    if (!opening) {
      opening = this.openContainer(name, partitionKeyPath);
      this.containers.set(name, opening);
      // A failed open (say, the service was down) must not be remembered.
      opening.catch(() => this.containers.delete(name));
    }
    const opened = await opening;
    if (opened.partitionKeyPath !== partitionKeyPath) {
      throw new TypeError(`container ${name} is partitioned by ${opened.partitionKeyPath}, not ${partitionKeyPath}`);
    }
    return new CosmosDocumentContainer<T>(name, partitionKeyPath, pkSegments, opened.container);
  }

  private async openContainer(name: string, partitionKeyPath: string) {
    const database = await (this.database ??= call(async () => {
      const { database } = await this.client.databases.createIfNotExists({ id: this.databaseId });
      return database;
    }).catch((error: unknown) => {
      this.database = undefined;
      throw error;
    }));
    const compositeIndexes =
      partitionKeyPath === '/id'
        ? []
        : [[{ path: '/id', order: 'ascending' as const }, { path: partitionKeyPath, order: 'ascending' as const }]];
    const { container, resource } = await call(() =>
      database.containers.createIfNotExists({
        id: name,
        partitionKey: { paths: [partitionKeyPath] },
        indexingPolicy: {
          indexingMode: 'consistent',
          automatic: true,
          includedPaths: [{ path: '/*' }],
          excludedPaths: [{ path: '/"_etag"/?' }],
          compositeIndexes,
        },
      }),
    );
    return { container, partitionKeyPath: resource?.partitionKey?.paths?.[0] ?? partitionKeyPath };
  }
}

class CosmosDocumentContainer<T extends DocumentItem> implements Container<T> {
  private readonly pkExpression: string;

  constructor(
    readonly name: string,
    readonly partitionKeyPath: string,
    private readonly pkSegments: string[],
    private readonly container: CosmosContainer,
  ) {
    this.pkExpression = fieldExpression(pkSegments);
  }

  async create(item: T): Promise<Stored<T>> {
    this.checkItem(item);
    const { resource } = await call(() => this.container.items.create<ItemDefinition>(item));
    return toStored<T>(resource);
  }

  /**
   * Transactional batches of up to 100 items of one partition, a few at a time. A batch that is
   * refused as a whole (on Azure it is atomic: one conflict writes none of it), and any item a
   * batch did not write, is created on its own, which gives each item its own answer.
   */
  async createMany(items: readonly T[]): Promise<Stored<T>[]> {
    const stored: Stored<T>[] = new Array(items.length);
    const errors: unknown[] = new Array(items.length);
    const valid: number[] = [];
    const partitionKeys: string[] = [];
    for (const [index, item] of items.entries()) {
      try {
        partitionKeys.push(this.checkItem(item));
        valid.push(index);
      } catch (error) {
        errors[index] = error;
      }
    }
    const sizes = valid.map((index) => Buffer.byteLength(JSON.stringify(items[index])));
    const batches = splitIntoBatches(partitionKeys, sizes).map((batch) => ({ ...batch, indexes: batch.indexes.map((i) => valid[i]!) }));
    await forEachInOrder(batches, BATCH_CONCURRENCY, async (batch) => {
      for (const index of await this.writeBatch(batch, items, stored)) {
        try {
          stored[index] = await this.create(items[index]!);
        } catch (error) {
          errors[index] = error;
        }
      }
    });
    const first = errors.findIndex((error) => error !== undefined);
    if (first !== -1) throw errors[first];
    return stored;
  }

  /** Writes what it can of one batch into `stored`; returns the indexes it did not write. */
  private async writeBatch(batch: Batch, items: readonly T[], stored: Stored<T>[]): Promise<number[]> {
    const operations: OperationInput[] = batch.indexes.map((index) => ({ operationType: 'Create', resourceBody: items[index] as unknown as JSONObject }));
    let results: OperationResponse[];
    try {
      results = (await this.container.items.batch(operations, batch.partitionKey)).result ?? [];
    } catch {
      return batch.indexes;
    }
    const left: number[] = [];
    for (const [i, index] of batch.indexes.entries()) {
      const result = results[i];
      if (!result || result.statusCode >= 400) left.push(index);
      else if (result.resourceBody) stored[index] = toStored<T>(result.resourceBody as ItemDefinition);
      // Written, but the service sent no copy back (an account may turn that off): the item is
      // what was sent, and its ETag is in the result or, failing that, in a read.
      else if (result.eTag) stored[index] = { item: JSON.parse(JSON.stringify(items[index])) as T, etag: result.eTag };
      else {
        const read = await this.read(items[index]!.id, batch.partitionKey);
        if (!read) throw new StoreError('Unavailable', `Cosmos DB reported ${items[index]!.id} created, but it cannot be read`);
        stored[index] = read;
      }
    }
    return left;
  }

  async read(id: string, partitionKey: string): Promise<Stored<T> | undefined> {
    try {
      const { resource, statusCode } = await call(() => this.container.item(id, partitionKey).read<ItemDefinition>());
      return statusCode === 404 || !resource ? undefined : toStored<T>(resource);
    } catch (error) {
      if (error instanceof StoreError && error.code === 'NotFound') return undefined;
      throw error;
    }
  }

  async replace(item: T, options: { ifMatch: string }): Promise<Stored<T>> {
    const pk = this.checkItem(item);
    const { resource } = await call(() =>
      this.container.item(item.id, pk).replace<ItemDefinition>(item, {
        accessCondition: { type: 'IfMatch', condition: options.ifMatch },
      }),
    );
    return toStored<T>(resource);
  }

  async upsert(item: T): Promise<Stored<T>> {
    this.checkItem(item);
    const { resource } = await call(() => this.container.items.upsert<ItemDefinition>(item));
    return toStored<T>(resource);
  }

  async delete(id: string, partitionKey: string, options: { ifMatch?: string } = {}): Promise<void> {
    const { statusCode } = await call(() =>
      this.container
        .item(id, partitionKey)
        .delete(options.ifMatch === undefined ? {} : { accessCondition: { type: 'IfMatch', condition: options.ifMatch } }),
    );
    if (statusCode === 404) throw new StoreError('NotFound', `item ${id} not found in ${this.name}/${partitionKey}`);
  }

  async query(partitionKey: string, options: QueryOptions = {}): Promise<QueryPage<T>> {
    return this.runQuery(partitionKey, options);
  }

  async queryAll(options: QueryOptions = {}): Promise<QueryPage<T>> {
    return this.runQuery(undefined, options);
  }

  private async runQuery(partitionKey: string | undefined, options: QueryOptions): Promise<QueryPage<T>> {
    checkLimit(options.limit);
    const after = options.continuation === undefined ? undefined : decodeContinuation(options.continuation);
    const conditions: string[] = [];
    const parameters: SqlParameter[] = [];
    const parameter = (value: string | number | boolean) => {
      const name = `@p${parameters.length}`;
      parameters.push({ name, value });
      return name;
    };
    if (partitionKey !== undefined) conditions.push(`${this.pkExpression} = ${parameter(partitionKey)}`);
    if (after && partitionKey !== undefined) conditions.push(`c.id > ${parameter(after.id)}`);
    if (after && partitionKey === undefined) {
      const id = parameter(after.id);
      conditions.push(`(c.id > ${id} OR (c.id = ${id} AND ${this.pkExpression} > ${parameter(after.pk ?? '')}))`);
    }
    for (const [field, value] of Object.entries(options.where ?? {})) {
      conditions.push(`${fieldExpression(parseFieldPath(field))} = ${parameter(value)}`);
    }
    // One extra row tells whether another page follows, so the last page carries no token.
    const top = options.limit === undefined ? '' : `TOP ${parameter(options.limit + 1)} `;
    const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
    // When the partition key is the id itself, ids are unique across partitions: one sort key
    // suffices, and a composite index over (id, id) could not exist.
    const pkIsId = this.pkExpression === 'c.id' || this.pkExpression === 'c["id"]';
    const orderBy = partitionKey === undefined && !pkIsId ? ` ORDER BY c.id ASC, ${this.pkExpression} ASC` : ' ORDER BY c.id ASC';
    const query = { query: `SELECT ${top}* FROM c${where}${orderBy}`, parameters };
    const { resources } = await call(() =>
      this.container.items
        .query<ItemDefinition>(query, partitionKey === undefined ? {} : { partitionKey })
        .fetchAll(),
    );
    const rows = resources.map((resource) => toStored<T>(resource));
    if (options.limit === undefined || rows.length <= options.limit) return { items: rows };
    const page = rows.slice(0, options.limit);
    const last = page[page.length - 1]!.item;
    const position =
      partitionKey === undefined ? { id: last.id, pk: partitionKeyOf(last, this.pkSegments) } : { id: last.id };
    return { items: page, continuation: encodeContinuation(position) };
  }

  private checkItem(item: T): string {
    checkId(item?.id);
    return partitionKeyOf(item, this.pkSegments);
  }
}

/** ["spec", "kind"] -> c["spec"]["kind"]; segments are already restricted to plain names. */
function fieldExpression(segments: readonly string[]): string {
  return `c${segments.map((s) => `[${JSON.stringify(s)}]`).join('')}`;
}

function toStored<T>(resource: ItemDefinition | undefined): Stored<T> {
  if (!resource) throw new StoreError('Unavailable', 'Cosmos DB returned no item');
  const etag = resource['_etag'];
  if (typeof etag !== 'string') throw new StoreError('Unavailable', 'Cosmos DB returned an item without an ETag');
  const item: Record<string, unknown> = { ...resource };
  for (const property of SYSTEM_PROPERTIES) delete item[property];
  return { item: item as T, etag };
}

async function call<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw translateCosmosError(error);
  }
}

/** Cosmos status codes in the port's terms; anything not listed passes through untouched. */
export function translateCosmosError(error: unknown): unknown {
  if (error instanceof StoreError) return error;
  const status = (error as { code?: unknown; statusCode?: unknown }).code ?? (error as { statusCode?: unknown }).statusCode;
  const message = (error as Error)?.message ?? String(error);
  const retryAfterMs = (error as { retryAfterInMs?: number }).retryAfterInMs;
  switch (status) {
    case 409:
      return new StoreError('Conflict', message, { cause: error });
    case 412:
      return new StoreError('PreconditionFailed', message, { cause: error });
    case 404:
      return new StoreError('NotFound', message, { cause: error });
    case 429:
      return new StoreError('Throttled', message, { cause: error, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
    case 408:
    case 503:
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'ETIMEDOUT':
      return new StoreError('Unavailable', message, { cause: error });
    default:
      return error;
  }
}
