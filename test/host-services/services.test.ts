import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { QueueClient, QueueServiceClient } from '@azure/storage-queue';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite, type AzuriteHandle } from '../../local-host/services/azurite.js';
import { useLocalCosmos } from '../support/local-cosmos.js';

describe('startAzurite', () => {
  let azurite: AzuriteHandle;
  beforeAll(async () => {
    azurite = await startAzurite({ inMemory: true });
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  it('listens on loopback, never on the fixed default ports, with explicit endpoints', () => {
    const queueUrl = new URL(azurite.queueEndpoint);
    const blobUrl = new URL(azurite.blobEndpoint);
    expect(queueUrl.hostname).toBe('127.0.0.1');
    expect(['10000', '10001', '10002']).not.toContain(queueUrl.port);
    expect(['10000', '10001', '10002']).not.toContain(blobUrl.port);
    expect(queueUrl.pathname).toBe('/devstoreaccount1');
    expect(azurite.connectionString).toContain(`QueueEndpoint=${azurite.queueEndpoint};`);
    expect(azurite.connectionString).toContain(`BlobEndpoint=${azurite.blobEndpoint};`);
    expect(azurite.tableEndpoint).toBeUndefined();
  });

  it('serves real queue send/receive/delete', async () => {
    const queue = new QueueClient(azurite.connectionString, 'roundtrip');
    await queue.create();
    await queue.sendMessage('hello');
    const received = await queue.receiveMessages({ numberOfMessages: 5, visibilityTimeout: 30 });
    expect(received.receivedMessageItems.map((m) => m.messageText)).toEqual(['hello']);
    expect(received.receivedMessageItems[0]!.dequeueCount).toBe(1);
    const item = received.receivedMessageItems[0]!;
    await queue.deleteMessage(item.messageId, item.popReceipt);
    const again = await queue.receiveMessages({ numberOfMessages: 5 });
    expect(again.receivedMessageItems).toHaveLength(0);
  });

  it('serves real blobs', async () => {
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('files');
    await container.create();
    await container.getBlockBlobClient('a.txt').upload('abc', 3);
    const body = await container.getBlobClient('a.txt').downloadToBuffer();
    expect(body.toString()).toBe('abc');
  });

  it('two in-memory instances do not share data', async () => {
    const other = await startAzurite({ inMemory: true });
    try {
      expect(other.queueEndpoint).not.toBe(azurite.queueEndpoint);
      await new QueueClient(azurite.connectionString, 'only-in-first').create();
      const names: string[] = [];
      for await (const q of QueueServiceClient.fromConnectionString(other.connectionString).listQueues()) names.push(q.name);
      expect(names).not.toContain('only-in-first');
    } finally {
      await other.stop();
    }
  });
});

describe('startAzurite with table', () => {
  it('adds a table endpoint to the connection string', async () => {
    const azurite = await startAzurite({ inMemory: true, services: ['queue', 'blob', 'table'] });
    try {
      expect(azurite.tableEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/);
      expect(azurite.connectionString).toContain(`TableEndpoint=${azurite.tableEndpoint};`);
      const res = await fetch(`${azurite.tableEndpoint}/Tables`, { headers: { accept: 'application/json' } });
      // Unauthenticated, so refused, but by the table service (not a connection error).
      expect(res.status).toBeGreaterThanOrEqual(400);
    } finally {
      await azurite.stop();
    }
  });
});

describe('startAzurite with a dataDir', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'fnbatch-azurite-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps a queue message across a restart', async () => {
    const first = await startAzurite({ dataDir });
    await new QueueClient(first.connectionString, 'durable').create();
    await new QueueClient(first.connectionString, 'durable').sendMessage('survives');
    await first.stop();
    expect((await readdir(dataDir)).length).toBeGreaterThan(0);

    const second = await startAzurite({ dataDir });
    try {
      const got = await new QueueClient(second.connectionString, 'durable').receiveMessages();
      expect(got.receivedMessageItems.map((m) => m.messageText)).toEqual(['survives']);
    } finally {
      await second.stop();
    }
  });

  it('on disk, hands out exactly the texts it was sent, updated texts included', async () => {
    const azurite = await startAzurite({ dataDir: path.join(dataDir, 'texts') });
    try {
      const queue = new QueueClient(azurite.connectionString, 'texts');
      await queue.create();
      const texts = Array.from({ length: 40 }, (_, i) => `message ${i} ünïcødé ${'x'.repeat(i * 100)}`);
      texts.push('y'.repeat(60 * 1024));
      for (const text of texts) await queue.sendMessage(text);
      const got: { messageId: string; popReceipt: string; messageText: string }[] = [];
      while (got.length < texts.length) got.push(...(await queue.receiveMessages({ numberOfMessages: 16, visibilityTimeout: 1 })).receivedMessageItems);
      expect(got.map((m) => m.messageText).sort()).toEqual([...texts].sort());
      const first = got[0]!;
      const updated = await queue.updateMessage(first.messageId, first.popReceipt, 'changed', 0);
      expect(updated.popReceipt).toBeTruthy();
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const again = (await queue.peekMessages({ numberOfMessages: 32 })).peekedMessageItems.map((m) => m.messageText);
      expect(again).toContain('changed');
      expect(again).not.toContain(first.messageText);
    } finally {
      await azurite.stop();
    }
  });

  it('in memory writes nothing to disk', async () => {
    // Other test files share the working directory, so look only for Azurite's own store names.
    const azuriteFiles = async () => (await readdir(process.cwd())).filter((f) => /azurite|__(queue|blob|table)storage__/.test(f));
    const before = await azuriteFiles();
    const azurite = await startAzurite({ inMemory: true });
    await new QueueClient(azurite.connectionString, 'mem').create();
    await new QueueClient(azurite.connectionString, 'mem').sendMessage('x');
    await azurite.stop();
    expect(await azuriteFiles()).toEqual(before);
  });
});

describe('startCosmos', () => {
  const local = useLocalCosmos();

  it('does not relax TLS checking process-wide', () => {
    expect(process.env.NODE_TLS_REJECT_UNAUTHORIZED).toBeUndefined();
    expect(new URL(local.handle.endpoint).hostname).toBe('127.0.0.1');
  });

  it('supports create, read, conditional replace and query with the real client', async () => {
    const { database } = await local.client.databases.createIfNotExists({ id: 'db1' });
    const { container } = await database.containers.createIfNotExists({
      id: 'jobs',
      partitionKey: { paths: ['/pk'] },
    });

    const created = await container.items.create({ id: 'job-1', pk: 'p1', state: 'active' });
    expect(created.statusCode).toBe(201);
    const etag1 = created.resource!._etag;
    expect(etag1).toBeTruthy();

    const read = await container.item('job-1', 'p1').read();
    expect(read.resource).toMatchObject({ id: 'job-1', state: 'active' });

    const replaced = await container
      .item('job-1', 'p1')
      .replace({ id: 'job-1', pk: 'p1', state: 'completed' }, { accessCondition: { type: 'IfMatch', condition: etag1 } });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.resource!._etag).not.toBe(etag1);

    // A writer still holding the old ETag loses.
    await expect(
      container
        .item('job-1', 'p1')
        .replace({ id: 'job-1', pk: 'p1', state: 'stale' }, { accessCondition: { type: 'IfMatch', condition: etag1 } }),
    ).rejects.toMatchObject({ code: 412 });

    await container.items.create({ id: 'job-2', pk: 'p1', state: 'active' });
    const { resources } = await container.items
      .query<{ id: string }>({
        query: 'SELECT c.id FROM c WHERE c.pk = @pk AND c.state = @state',
        parameters: [
          { name: '@pk', value: 'p1' },
          { name: '@state', value: 'completed' },
        ],
      })
      .fetchAll();
    expect(resources.map((r) => r.id)).toEqual(['job-1']);
  });
});
