// Argument rules every WorkQueue adapter enforces the same way, taken from Azure Storage queues,
// so code that works against the memory queue does not fail only once it meets the real one.

import { MAX_RECEIVE_BATCH } from '../ports/work-queue.js';

export const SEVEN_DAYS_MS = 7 * 24 * 60 * 60 * 1000;

export function checkReceiveArguments(max: number, visibilityTimeoutMs: number): void {
  checkBatchSize('receive', max);
  checkDuration('visibility timeout', visibilityTimeoutMs, 1, SEVEN_DAYS_MS);
}

export function checkBatchSize(operation: 'receive' | 'peek', max: number): void {
  if (!Number.isInteger(max) || max < 1 || max > MAX_RECEIVE_BATCH) {
    throw new RangeError(`${operation} takes 1..${MAX_RECEIVE_BATCH} messages, got ${max}`);
  }
}

export function checkLeaseTimeout(visibilityTimeoutMs: number): void {
  checkDuration('visibility timeout', visibilityTimeoutMs, 0, SEVEN_DAYS_MS);
}

export function checkSendArguments(visibilityDelayMs: number, timeToLiveMs: number): void {
  checkDuration('time to live', timeToLiveMs, 1, SEVEN_DAYS_MS);
  checkDuration('visibility delay', visibilityDelayMs, 0, SEVEN_DAYS_MS);
  if (visibilityDelayMs >= timeToLiveMs) throw new RangeError('visibility delay must be shorter than the time to live');
}

function checkDuration(what: string, ms: number, min: number, max: number): void {
  if (!Number.isFinite(ms) || ms < min || ms > max) throw new RangeError(`${what} must be ${min}..${max} ms, got ${ms}`);
}
