// Typed failures of the ports. Adapters translate their service's native errors into these so
// callers can branch on `code` without knowing which backend they are talking to.

export type StoreErrorCode = 'Conflict' | 'PreconditionFailed' | 'NotFound' | 'Throttled' | 'Unavailable';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly code: StoreErrorCode;
  /** How long the service asked us to back off, when it said (Cosmos 429). */
  readonly retryAfterMs?: number;

  constructor(code: StoreErrorCode, message: string, options: { retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

export function isStoreError(error: unknown, code?: StoreErrorCode): error is StoreError {
  return error instanceof StoreError && (code === undefined || error.code === code);
}

/**
 * LeaseLost: the pop receipt no longer names a live lease (the message was re-received by
 * someone else, updated, or deleted). The holder must stop working on it.
 * QueueNotFound: the queue itself is gone.
 */
export type QueueErrorCode = 'LeaseLost' | 'QueueNotFound' | 'Throttled' | 'Unavailable';

export class QueueError extends Error {
  override readonly name = 'QueueError';
  readonly code: QueueErrorCode;

  constructor(code: QueueErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

export function isQueueError(error: unknown, code?: QueueErrorCode): error is QueueError {
  return error instanceof QueueError && (code === undefined || error.code === code);
}
