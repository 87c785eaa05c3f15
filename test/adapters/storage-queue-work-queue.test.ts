// What the Storage queue adapter does beyond the conformance suite: the queue's creation, the
// wire format of bodies, rounding to seconds, and how it reports the service's failures.

import { randomUUID } from 'node:crypto';
import { QueueClient, QueueServiceClient, RestError } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type AzuriteHandle } from '../../local-host/services/azurite.js';
import { StorageQueueWorkQueue, translateStorageQueueError } from '../../shared/adapters/storage-queue-work-queue.js';
import { QueueError } from '../../shared/ports/errors.js';

let azurite: AzuriteHandle;
let service: QueueServiceClient;
const queueName = () => `adapter-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  azurite = await startAzurite({ inMemory: true });
  service = QueueServiceClient.fromConnectionString(azurite.connectionString);
});

afterAll(async () => {
  await azurite?.stop();
});

describe('StorageQueueWorkQueue', () => {
  it('creates its queue when missing and reuses it when present', async () => {
    const name = queueName();
    const first = await StorageQueueWorkQueue.fromConnectionString(azurite.connectionString, name);
    expect(first.name).toBe(name);
    expect(await service.getQueueClient(name).exists()).toBe(true);
    await first.send('kept');
    const second = await StorageQueueWorkQueue.fromService(service, name);
    expect(await second.approximateCount()).toBe(1);
  });

  it('puts bodies on the wire as plain text, not base64, both ways', async () => {
    const name = queueName();
    const queue = await StorageQueueWorkQueue.fromService(service, name);
    const raw = service.getQueueClient(name);
    const body = '{"task":"t-1","note":"<xml & friends>"}';
    await queue.send(body);
    const peeked = await raw.peekMessages();
    expect(peeked.peekedMessageItems.map((m) => m.messageText)).toEqual([body]);
    await raw.clearMessages();
    await raw.sendMessage('sent by someone else');
    expect((await queue.receive(1, 30_000)).map((m) => m.body)).toEqual(['sent by someone else']);
  });

  it('rounds lease times up to whole seconds rather than down to zero', async () => {
    const queue = await StorageQueueWorkQueue.fromService(service, queueName());
    await queue.send('x');
    const before = Date.now();
    const [message] = await queue.receive(1, 1);
    // Storage dates carry whole seconds; a 1 ms lease becomes 1 s, never 0.
    expect(message!.nextVisibleOn.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 1000);
  });

  it('reports a queue deleted underneath it as QueueNotFound', async () => {
    const name = queueName();
    const queue = await StorageQueueWorkQueue.fromService(service, name);
    await service.deleteQueue(name);
    const error = await queue.send('lost').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueError);
    expect((error as QueueError).code).toBe('QueueNotFound');
  });

  it('reports an unreachable service as Unavailable', async () => {
    const other = await startAzurite({ inMemory: true });
    const queue = await StorageQueueWorkQueue.open(
      new QueueClient(other.connectionString, queueName(), { retryOptions: { maxTries: 1 } }),
    );
    await other.stop();
    const error = await queue.send('nowhere').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueError);
    expect((error as QueueError).code).toBe('Unavailable');
  });
});

describe('translateStorageQueueError', () => {
  const restError = (statusCode: number, code: string) => new RestError(code, { statusCode, code });

  it.each([
    [404, 'MessageNotFound', 'LeaseLost'],
    [400, 'PopReceiptMismatch', 'LeaseLost'],
    [404, 'QueueNotFound', 'QueueNotFound'],
    [503, 'ServerBusy', 'Throttled'],
    [500, 'InternalError', 'Unavailable'],
  ] as const)('maps %i %s to %s', (status, code, expected) => {
    const translated = translateStorageQueueError(restError(status, code));
    expect(translated).toBeInstanceOf(QueueError);
    expect((translated as QueueError).code).toBe(expected);
  });

  it('passes other errors through untouched', () => {
    const invalid = restError(400, 'InvalidQueryParameterValue');
    expect(translateStorageQueueError(invalid)).toBe(invalid);
  });
});
