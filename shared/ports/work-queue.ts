// The work queue port, with the semantics of an Azure Storage queue:
// - at-least-once: a received message is hidden for its visibility timeout (its lease); if the
//   holder does not delete it in time it reappears and the next receive gets it again with
//   dequeueCount + 1 and a new popReceipt;
// - the popReceipt names the lease. It stays valid until the message is received again, updated
//   (extendLease) or deleted, even past the timeout. Using a receipt that is no longer current
//   fails with QueueError('LeaseLost');
// - order is roughly FIFO but not guaranteed;
// - times are in milliseconds here; an adapter may round up to its service's resolution
//   (Storage queues: whole seconds).

export interface QueueMessage {
  messageId: string;
  popReceipt: string;
  /** How many times this message has been received, this receive included. */
  dequeueCount: number;
  body: string;
  insertedOn: Date;
  /** When the current lease ends and the message becomes visible again. */
  nextVisibleOn: Date;
}

/** A message seen by peek: not leased, so it has no pop receipt. */
export type PeekedMessage = Pick<QueueMessage, 'messageId' | 'dequeueCount' | 'body' | 'insertedOn'>;

/** What names a lease: the message and its current pop receipt. */
export type MessageLease = Pick<QueueMessage, 'messageId' | 'popReceipt'>;

export interface SendOptions {
  /** Keep the new message invisible for this long first. */
  visibilityDelayMs?: number;
  /** Drop the message if it is still in the queue after this long; default 7 days. */
  timeToLiveMs?: number;
}

/** Storage queues hand out at most this many messages per receive. */
export const MAX_RECEIVE_BATCH = 32;

export interface WorkQueue {
  readonly name: string;
  send(body: string, options?: SendOptions): Promise<{ messageId: string }>;
  /** Up to `max` (1..32) visible messages, each leased for visibilityTimeoutMs (> 0). */
  receive(max: number, visibilityTimeoutMs: number): Promise<QueueMessage[]>;
  /** Up to `max` (1..32) visible messages from the front of the queue, left as they are: no lease, no dequeue. */
  peek(max: number): Promise<PeekedMessage[]>;
  /**
   * Moves the lease's end to now + visibilityTimeoutMs (0 releases the message at once) and
   * returns the message with its new popReceipt and nextVisibleOn; the old receipt stops working.
   */
  extendLease(message: QueueMessage, visibilityTimeoutMs: number): Promise<QueueMessage>;
  delete(lease: MessageLease): Promise<void>;
  /** Messages in the queue, visible or not (approximate on the real service). */
  approximateCount(): Promise<number>;
  clear(): Promise<void>;
}
