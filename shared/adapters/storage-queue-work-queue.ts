// A WorkQueue over an Azure Storage queue (or Azurite) through the real @azure/storage-queue client.
//
// Bodies go on the wire as-is: no base64. The Functions queue trigger accepts plain text as well
// as base64, and plain text keeps messages readable in Storage Explorer. Consequently a body must
// be text that survives XML (no control characters besides tab/CR/LF) and be at most 64 KiB.
// Times are rounded up to whole seconds, the service's resolution.

import { QueueClient, type QueueServiceClient } from '@azure/storage-queue';
import { QueueError } from '../ports/errors.js';
import type { MessageLease, PeekedMessage, QueueMessage, SendOptions, WorkQueue } from '../ports/work-queue.js';
import { SEVEN_DAYS_MS, checkBatchSize, checkLeaseTimeout, checkReceiveArguments, checkSendArguments } from './queue-limits.js';

export class StorageQueueWorkQueue implements WorkQueue {
  private constructor(private readonly client: QueueClient) {}

  /** Wraps the client's queue, creating it if it does not exist. */
  static async open(client: QueueClient): Promise<StorageQueueWorkQueue> {
    await call(() => client.createIfNotExists());
    return new StorageQueueWorkQueue(client);
  }

  static async fromConnectionString(connectionString: string, queueName: string): Promise<StorageQueueWorkQueue> {
    return StorageQueueWorkQueue.open(new QueueClient(connectionString, queueName));
  }

  static async fromService(service: QueueServiceClient, queueName: string): Promise<StorageQueueWorkQueue> {
    return StorageQueueWorkQueue.open(service.getQueueClient(queueName));
  }

  get name(): string {
    return this.client.name;
  }

  async send(body: string, options: SendOptions = {}): Promise<{ messageId: string }> {
    const delay = options.visibilityDelayMs ?? 0;
    const timeToLive = options.timeToLiveMs ?? SEVEN_DAYS_MS;
    checkSendArguments(delay, timeToLive);
    const response = await call(() =>
      this.client.sendMessage(body, {
        visibilityTimeout: toSeconds(delay),
        messageTimeToLive: toSeconds(timeToLive),
      }),
    );
    return { messageId: response.messageId };
  }

  async receive(max: number, visibilityTimeoutMs: number): Promise<QueueMessage[]> {
    checkReceiveArguments(max, visibilityTimeoutMs);
    const response = await call(() =>
      this.client.receiveMessages({ numberOfMessages: max, visibilityTimeout: toSeconds(visibilityTimeoutMs) }),
    );
    return response.receivedMessageItems.map((item) => ({
      messageId: item.messageId,
      popReceipt: item.popReceipt,
      dequeueCount: item.dequeueCount,
      body: item.messageText,
      insertedOn: item.insertedOn,
      nextVisibleOn: item.nextVisibleOn,
    }));
  }

  async peek(max: number): Promise<PeekedMessage[]> {
    checkBatchSize('peek', max);
    const response = await call(() => this.client.peekMessages({ numberOfMessages: max }));
    return response.peekedMessageItems.map((item) => ({
      messageId: item.messageId,
      dequeueCount: item.dequeueCount,
      body: item.messageText,
      insertedOn: item.insertedOn,
    }));
  }

  async extendLease(message: QueueMessage, visibilityTimeoutMs: number): Promise<QueueMessage> {
    checkLeaseTimeout(visibilityTimeoutMs);
    // No message text: the service keeps the body and only moves the lease.
    const response = await call(() =>
      this.client.updateMessage(message.messageId, message.popReceipt, undefined, toSeconds(visibilityTimeoutMs)),
    );
    if (!response.popReceipt || !response.nextVisibleOn) {
      throw new QueueError('Unavailable', 'update message response lacks the new pop receipt');
    }
    return { ...message, popReceipt: response.popReceipt, nextVisibleOn: response.nextVisibleOn };
  }

  async delete(lease: MessageLease): Promise<void> {
    await call(() => this.client.deleteMessage(lease.messageId, lease.popReceipt));
  }

  async approximateCount(): Promise<number> {
    const properties = await call(() => this.client.getProperties());
    return properties.approximateMessagesCount ?? 0;
  }

  async clear(): Promise<void> {
    await call(() => this.client.clearMessages());
  }
}

function toSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

async function call<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw translateStorageQueueError(error);
  }
}

/** Storage's answers in the port's terms; anything not listed passes through untouched. */
export function translateStorageQueueError(error: unknown): unknown {
  const status = (error as { statusCode?: number }).statusCode;
  const code = (error as { code?: string }).code ?? '';
  const message = (error as Error)?.message ?? String(error);
  if (code === 'MessageNotFound' || code === 'PopReceiptMismatch') {
    return new QueueError('LeaseLost', message, { cause: error });
  }
  if (code === 'QueueNotFound' || code === 'QueueBeingDeleted') {
    return new QueueError('QueueNotFound', message, { cause: error });
  }
  if (status === 503 || status === 429 || code === 'ServerBusy') {
    return new QueueError('Throttled', message, { cause: error });
  }
  if ((status !== undefined && status >= 500) || NETWORK_CODES.has(code)) {
    return new QueueError('Unavailable', message, { cause: error });
  }
  return error;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'REQUEST_SEND_ERROR']);
