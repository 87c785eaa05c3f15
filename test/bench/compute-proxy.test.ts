// The counting proxy in front of real Azurite, driven by the real Storage SDK clients.
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConnectionString, formatConnectionString } from '../../bench/compute-fnbatch.js';
import { classifyApiRequest, classifyBlobRequest, classifyQueueRequest, startCountingProxy, type CountingProxy } from '../../bench/compute-proxy.js';
import { RequestCounter } from '../../shared/adapters/request-counter.js';
import { startAzurite, type AzuriteHandle } from '../../local-host/services/azurite.js';

let azurite: AzuriteHandle;
let queueProxy: CountingProxy;
let blobProxy: CountingProxy;
const counter = new RequestCounter();
let proxiedConnection: string;

beforeAll(async () => {
  azurite = await startAzurite({ inMemory: true });
  queueProxy = await startCountingProxy(azurite.queueEndpoint, classifyQueueRequest, counter);
  blobProxy = await startCountingProxy(azurite.blobEndpoint, classifyBlobRequest, counter);
  const settings = parseConnectionString(azurite.connectionString);
  proxiedConnection = formatConnectionString({ ...settings, QueueEndpoint: queueProxy.url, BlobEndpoint: blobProxy.url });
});

afterAll(async () => {
  await queueProxy?.close();
  await blobProxy?.close();
  await azurite?.stop();
});

describe('counting proxy', () => {
  it('passes signed queue requests through to Azurite and counts each by operation', async () => {
    counter.reset();
    const queue = QueueServiceClient.fromConnectionString(proxiedConnection).getQueueClient('counted');
    await queue.create();
    await queue.sendMessage('one');
    await queue.sendMessage('two');
    const received = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 30 });
    expect(received.receivedMessageItems.map((m) => m.messageText).sort()).toEqual(['one', 'two']);
    const [first, second] = received.receivedMessageItems;
    const updated = await queue.updateMessage(first!.messageId, first!.popReceipt, undefined, 60);
    await queue.deleteMessage(first!.messageId, updated.popReceipt!);
    await queue.deleteMessage(second!.messageId, second!.popReceipt);
    const peeked = await queue.peekMessages();
    expect(peeked.peekedMessageItems).toEqual([]);
    expect((await queue.getProperties()).approximateMessagesCount).toBe(0);
    expect(counter.snapshot()).toEqual({
      'queue.create': 1,
      'queue.delete': 2,
      'queue.extendLease': 1,
      'queue.metadata': 1,
      'queue.peek': 1,
      'queue.receive': 1,
      'queue.send': 2,
    });
    // The messages really went through to Azurite, not just the proxy.
    const direct = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient('counted');
    expect(await direct.exists()).toBe(true);
  });

  it('relays blob uploads and downloads byte for byte', async () => {
    counter.reset();
    const container = BlobServiceClient.fromConnectionString(proxiedConnection).getContainerClient('outputs');
    await container.create();
    const blob = container.getBlockBlobClient('stdout.txt');
    await blob.upload('hello\n', 6);
    expect((await blob.downloadToBuffer()).toString()).toBe('hello\n');
    expect(counter.snapshot()).toEqual({ 'blob.GET': 1, 'blob.HEAD': 1, 'blob.PUT': 1, 'blob.PUT.container': 1 });
  });
});

describe('request names', () => {
  it('names control-plane calls by route without ids', () => {
    expect(classifyApiRequest('POST', new URL('http://h/api/agent/claim'))).toBe('api.agent/claim');
    expect(classifyApiRequest('GET', new URL('http://h/api/jobs/j1/tasks?x=1'))).toBe('api.jobs');
  });

  it('keeps a connection string\'s values that contain "="', () => {
    const text = 'AccountName=a;AccountKey=abc==;QueueEndpoint=http://127.0.0.1:1/a;';
    expect(parseConnectionString(text)).toEqual({ AccountName: 'a', AccountKey: 'abc==', QueueEndpoint: 'http://127.0.0.1:1/a' });
    expect(formatConnectionString(parseConnectionString(text))).toBe(text);
  });
});
