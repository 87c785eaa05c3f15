// What the Cosmos adapter does beyond the conformance suite: what it leaves in Cosmos, how it
// creates containers, and how it reports the service's failures.

import { randomUUID } from 'node:crypto';
import { CosmosClient, ErrorResponse, type CosmosClientOptions, type PluginConfig } from '@azure/cosmos';
import { describe, expect, it } from 'vitest';
import { localCosmosClientOptions, startCosmos } from '../../local-host/services/cosmos.js';
import { useLocalCosmos } from '../support/local-cosmos.js';
import { CosmosDocumentStore, translateCosmosError } from '../../shared/adapters/cosmos-document-store.js';
import { StoreError } from '../../shared/ports/errors.js';

interface Task {
  id: string;
  jobId: string;
  status: string;
}

const local = useLocalCosmos();

describe('CosmosDocumentStore', () => {
  it('creates the database and a container partitioned on the path, indexed for cross-partition listing', async () => {
    const databaseId = `adapter-${randomUUID()}`;
    const store = new CosmosDocumentStore(local.client, databaseId);
    await store.container<Task>('tasks', '/jobId');
    const { resource } = await local.client.database(databaseId).container('tasks').read();
    expect(resource?.partitionKey?.paths).toEqual(['/jobId']);
    expect(resource?.indexingPolicy?.compositeIndexes).toEqual([
      [
        { path: '/id', order: 'ascending' },
        { path: '/jobId', order: 'ascending' },
      ],
    ]);
    await local.client.database(databaseId).delete();
  });

  it('writes the plain item to Cosmos and strips Cosmos system properties on the way back', async () => {
    const databaseId = `adapter-${randomUUID()}`;
    const store = new CosmosDocumentStore(local.client, databaseId);
    const tasks = await store.container<Task>('tasks', '/jobId');
    const created = await tasks.create({ id: 't1', jobId: 'j1', status: 'active' });
    const { resource: raw } = await local.client.database(databaseId).container('tasks').item('t1', 'j1').read();
    expect(raw).toMatchObject({ id: 't1', jobId: 'j1', status: 'active', _etag: created.etag });
    expect(created.item).toEqual({ id: 't1', jobId: 'j1', status: 'active' });
    expect((await tasks.queryAll()).items[0]?.item).toEqual({ id: 't1', jobId: 'j1', status: 'active' });
    await local.client.database(databaseId).delete();
  });

  it('refuses an existing container with another partition key path, from a fresh store too', async () => {
    const databaseId = `adapter-${randomUUID()}`;
    await new CosmosDocumentStore(local.client, databaseId).container<Task>('tasks', '/jobId');
    await expect(new CosmosDocumentStore(local.client, databaseId).container<Task>('tasks', '/status')).rejects.toThrow(
      /partitioned by \/jobId/,
    );
    await local.client.database(databaseId).delete();
  });

  it('creates many items in transactional batches of 100 per partition, not a request each', async () => {
    const requests: string[] = [];
    // The SDK's own request hook (typed, but left out of the options' public type).
    const plugins: PluginConfig[] = [
      {
        on: 'request',
        plugin: async (context, _diagnostics, next) => {
          requests.push(String(context.operationType));
          return next(context);
        },
      },
    ];
    const counted = new CosmosClient({ ...localCosmosClientOptions(local.handle), plugins } as CosmosClientOptions);
    const databaseId = `adapter-${randomUUID()}`;
    try {
      const tasks = await new CosmosDocumentStore(counted, databaseId).container<Task>('tasks', '/jobId');
      requests.length = 0;
      const items = [
        ...Array.from({ length: 250 }, (_, i) => ({ id: `t${i}`, jobId: 'j1', status: 'active' })),
        { id: 'other', jobId: 'j2', status: 'active' },
      ];
      const created = await tasks.createMany(items);
      expect(created.map((s) => s.item)).toEqual(items);
      // 100 + 100 + 50 of j1, and 1 of j2; nothing item by item.
      expect(requests.filter((op) => op === 'batch')).toHaveLength(4);
      expect(requests.filter((op) => op === 'create')).toHaveLength(0);
      expect((await tasks.query('j1')).items).toHaveLength(250);
    } finally {
      await counted.database(databaseId).delete();
      counted.dispose();
    }
  });

  it('answers createMany with what was stored when the service sends no copies back', async () => {
    // As an account with content responses on writes turned off answers: no body, and here for
    // every other item no ETag either.
    const plugins: PluginConfig[] = [
      {
        on: 'request',
        plugin: async (context, _diagnostics, next) => {
          const response = await next(context);
          if (String(context.operationType) === 'batch' && Array.isArray(response.result)) {
            response.result = (response.result as { resourceBody?: unknown; eTag?: string }[]).map(({ resourceBody: _body, eTag, ...rest }, i) => ({
              ...rest,
              ...(i % 2 === 0 && eTag ? { eTag } : {}),
            }));
          }
          return response;
        },
      },
    ];
    const stripping = new CosmosClient({ ...localCosmosClientOptions(local.handle), plugins } as CosmosClientOptions);
    const databaseId = `adapter-${randomUUID()}`;
    try {
      const tasks = await new CosmosDocumentStore(stripping, databaseId).container<Task>('tasks', '/jobId');
      const items = Array.from({ length: 5 }, (_, i) => ({ id: `t${i}`, jobId: 'j1', status: 'active' }));
      const created = await tasks.createMany(items);
      expect(created.map((s) => s.item)).toEqual(items);
      for (const [i, item] of items.entries()) expect((await tasks.read(item.id, 'j1'))?.etag).toBe(created[i]!.etag);
    } finally {
      await stripping.database(databaseId).delete();
      stripping.dispose();
    }
  });

  it('reports an unreachable service as Unavailable', async () => {
    const server = await startCosmos();
    const otherClient = new CosmosClient(localCosmosClientOptions(server));
    try {
      const tasks = await new CosmosDocumentStore(otherClient, 'db').container<Task>('tasks', '/jobId');
      await server.stop();
      const error = await tasks.read('t1', 'j1').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).code).toBe('Unavailable');
    } finally {
      otherClient.dispose();
      await server.stop();
    }
  });
});

describe('translateCosmosError', () => {
  const cosmosError = (code: number, retryAfterInMs?: number) => {
    const error = new ErrorResponse(`status ${code}`);
    error.code = code;
    if (retryAfterInMs !== undefined) error.retryAfterInMs = retryAfterInMs;
    return error;
  };

  it.each([
    [409, 'Conflict'],
    [412, 'PreconditionFailed'],
    [404, 'NotFound'],
    [503, 'Unavailable'],
    [408, 'Unavailable'],
  ] as const)('maps status %i to %s', (status, code) => {
    const translated = translateCosmosError(cosmosError(status));
    expect(translated).toBeInstanceOf(StoreError);
    expect((translated as StoreError).code).toBe(code);
  });

  it('keeps the back-off the service asked for on 429', () => {
    const translated = translateCosmosError(cosmosError(429, 1234)) as StoreError;
    expect(translated.code).toBe('Throttled');
    expect(translated.retryAfterMs).toBe(1234);
  });

  it('passes other errors through untouched', () => {
    const badRequest = cosmosError(400);
    expect(translateCosmosError(badRequest)).toBe(badRequest);
    const bug = new TypeError('bug');
    expect(translateCosmosError(bug)).toBe(bug);
  });
});
