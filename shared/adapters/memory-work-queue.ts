// A WorkQueue in process memory with the visibility semantics of an Azure Storage queue, measured
// on an injectable Clock, so the simulator can run leases and redeliveries in virtual time. It
// needs no timers: visibility is worked out from clock.now() on each call. Message ids and pop
// receipts come from counters, so a run is repeatable.

import { realClock, type Clock } from '../../local-host/contracts.js';
import { QueueError } from '../ports/errors.js';
import type { MessageLease, PeekedMessage, QueueMessage, SendOptions, WorkQueue } from '../ports/work-queue.js';
import { SEVEN_DAYS_MS, checkBatchSize, checkLeaseTimeout, checkReceiveArguments, checkSendArguments } from './queue-limits.js';

interface Entry {
  messageId: string;
  body: string;
  insertedOn: number;
  expiresOn: number;
  visibleAt: number;
  dequeueCount: number;
  popReceipt?: string;
  /** Send order, to keep receive roughly FIFO among messages visible since the same instant. */
  sequence: number;
}

export class MemoryWorkQueue implements WorkQueue {
  private readonly entries = new Map<string, Entry>();
  private sent = 0;
  private receipts = 0;

  constructor(
    readonly name: string,
    private readonly clock: Clock = realClock,
  ) {}

  async send(body: string, options: SendOptions = {}): Promise<{ messageId: string }> {
    const delay = options.visibilityDelayMs ?? 0;
    const timeToLive = options.timeToLiveMs ?? SEVEN_DAYS_MS;
    checkSendArguments(delay, timeToLive);
    const now = this.clock.now();
    this.sent += 1;
    const messageId = `${this.name}-${String(this.sent).padStart(8, '0')}`;
    this.entries.set(messageId, {
      messageId,
      body,
      insertedOn: now,
      expiresOn: now + timeToLive,
      visibleAt: now + delay,
      dequeueCount: 0,
      sequence: this.sent,
    });
    return { messageId };
  }

  async receive(max: number, visibilityTimeoutMs: number): Promise<QueueMessage[]> {
    checkReceiveArguments(max, visibilityTimeoutMs);
    const now = this.clock.now();
    return this.front(now, max).map((entry) => {
      entry.dequeueCount += 1;
      entry.popReceipt = this.newReceipt();
      entry.visibleAt = now + visibilityTimeoutMs;
      return toMessage(entry);
    });
  }

  async peek(max: number): Promise<PeekedMessage[]> {
    checkBatchSize('peek', max);
    return this.front(this.clock.now(), max).map(({ messageId, dequeueCount, body, insertedOn }) => ({
      messageId,
      dequeueCount,
      body,
      insertedOn: new Date(insertedOn),
    }));
  }

  async extendLease(message: QueueMessage, visibilityTimeoutMs: number): Promise<QueueMessage> {
    checkLeaseTimeout(visibilityTimeoutMs);
    const now = this.clock.now();
    const entry = this.leased(message, now);
    entry.popReceipt = this.newReceipt();
    entry.visibleAt = now + visibilityTimeoutMs;
    return { ...message, popReceipt: entry.popReceipt, nextVisibleOn: new Date(entry.visibleAt) };
  }

  async delete(lease: MessageLease): Promise<void> {
    this.leased(lease, this.clock.now());
    this.entries.delete(lease.messageId);
  }

  async approximateCount(): Promise<number> {
    this.dropExpired(this.clock.now());
    return this.entries.size;
  }

  async clear(): Promise<void> {
    this.entries.clear();
  }

  private leased(lease: MessageLease, now: number): Entry {
    this.dropExpired(now);
    const entry = this.entries.get(lease.messageId);
    if (!entry) throw new QueueError('LeaseLost', `message ${lease.messageId} is no longer in queue ${this.name}`);
    if (entry.popReceipt === undefined || entry.popReceipt !== lease.popReceipt) {
      throw new QueueError('LeaseLost', `pop receipt for message ${lease.messageId} is no longer current`);
    }
    return entry;
  }

  /** The first `max` visible messages, in the order receive hands them out. */
  private front(now: number, max: number): Entry[] {
    this.dropExpired(now);
    return [...this.entries.values()]
      .filter((e) => e.visibleAt <= now)
      .sort((a, b) => a.visibleAt - b.visibleAt || a.sequence - b.sequence)
      .slice(0, max);
  }

  private dropExpired(now: number): void {
    for (const [id, entry] of this.entries) if (entry.expiresOn <= now) this.entries.delete(id);
  }

  private newReceipt(): string {
    this.receipts += 1;
    return `receipt-${this.receipts}`;
  }
}

function toMessage(entry: Entry): QueueMessage {
  return {
    messageId: entry.messageId,
    popReceipt: entry.popReceipt!,
    dequeueCount: entry.dequeueCount,
    body: entry.body,
    insertedOn: new Date(entry.insertedOn),
    nextVisibleOn: new Date(entry.visibleAt),
  };
}
