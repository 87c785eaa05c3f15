import type { RetryOptions } from './history.js';

/**
 * The wait before the next attempt after `attempt` attempts have failed, as Durable Functions
 * computes it: the first interval grown by the back-off coefficient, capped by the maximum interval.
 */
export function retryDelayMs(options: RetryOptions, attempt: number): number {
  const first = Math.max(0, options.firstRetryIntervalInMilliseconds);
  const coefficient = options.backoffCoefficient && options.backoffCoefficient > 0 ? options.backoffCoefficient : 1;
  const grown = first * Math.pow(coefficient, Math.max(0, attempt - 1));
  const cap = options.maxRetryIntervalInMilliseconds && options.maxRetryIntervalInMilliseconds > 0
    ? options.maxRetryIntervalInMilliseconds
    : Number.MAX_SAFE_INTEGER;
  return Math.min(grown, cap);
}
