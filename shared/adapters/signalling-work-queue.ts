// A WorkQueue decorator that calls `onSent` once the service has taken a message that can be
// received at once (no visibility delay), so that idle receivers can be told of it (the work
// signal, shared/app/work-signal.ts). Everything else passes through unchanged.

import type { MessageLease, PeekedMessage, QueueMessage, SendOptions, WorkQueue } from '../ports/work-queue.js';

export class SignallingWorkQueue implements WorkQueue {
  constructor(
    private readonly inner: WorkQueue,
    private readonly onSent: () => void,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  async send(body: string, options?: SendOptions): Promise<{ messageId: string }> {
    const sent = await this.inner.send(body, options);
    if (!options?.visibilityDelayMs) this.onSent();
    return sent;
  }

  receive(max: number, visibilityTimeoutMs: number): Promise<QueueMessage[]> {
    return this.inner.receive(max, visibilityTimeoutMs);
  }

  peek(max: number): Promise<PeekedMessage[]> {
    return this.inner.peek(max);
  }

  extendLease(message: QueueMessage, visibilityTimeoutMs: number): Promise<QueueMessage> {
    return this.inner.extendLease(message, visibilityTimeoutMs);
  }

  delete(lease: MessageLease): Promise<void> {
    return this.inner.delete(lease);
  }

  approximateCount(): Promise<number> {
    return this.inner.approximateCount();
  }

  clear(): Promise<void> {
    return this.inner.clear();
  }
}
