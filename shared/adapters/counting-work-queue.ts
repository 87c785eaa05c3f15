// A WorkQueue decorator that counts every call, failed ones included (each is still a request to
// the service), as "<prefix>.<operation>" in a RequestCounter. Several queues may share a counter.

import type { MessageLease, PeekedMessage, QueueMessage, SendOptions, WorkQueue } from '../ports/work-queue.js';
import { RequestCounter } from './request-counter.js';

export class CountingWorkQueue implements WorkQueue {
  constructor(
    private readonly inner: WorkQueue,
    readonly counter: RequestCounter = new RequestCounter(),
    private readonly prefix = 'queue',
  ) {}

  get name(): string {
    return this.inner.name;
  }

  send(body: string, options?: SendOptions): Promise<{ messageId: string }> {
    this.count('send');
    return this.inner.send(body, options);
  }

  receive(max: number, visibilityTimeoutMs: number): Promise<QueueMessage[]> {
    this.count('receive');
    return this.inner.receive(max, visibilityTimeoutMs);
  }

  peek(max: number): Promise<PeekedMessage[]> {
    this.count('peek');
    return this.inner.peek(max);
  }

  extendLease(message: QueueMessage, visibilityTimeoutMs: number): Promise<QueueMessage> {
    this.count('extendLease');
    return this.inner.extendLease(message, visibilityTimeoutMs);
  }

  delete(lease: MessageLease): Promise<void> {
    this.count('delete');
    return this.inner.delete(lease);
  }

  approximateCount(): Promise<number> {
    this.count('approximateCount');
    return this.inner.approximateCount();
  }

  clear(): Promise<void> {
    this.count('clear');
    return this.inner.clear();
  }

  private count(operation: string): void {
    this.counter.increment(`${this.prefix}.${operation}`);
  }
}
