// Retries of ARM calls: exponential backoff with jitter, Retry-After honoured, cancellation through
// an AbortSignal (during the call and during the wait), and one ScaleSetError at the end whose
// message says what was being done and why it failed, ready for a pool's resizeErrors.
//
// The SDK's own retry policy is switched off by the provider so that this is the only place
// deciding; otherwise the two would multiply each other's attempts and waits.

import { setTimeout as delay } from 'node:timers/promises';
import { ScaleSetError } from '../ports/scale-set-provider.js';
import { classifyArmFailure, isAbortError } from './arm-errors.js';

export interface ArmRetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited out: the call fails as Throttled with retryAfterMs. */
  maxRetryAfterMs: number;
}

export const DEFAULT_ARM_RETRY: ArmRetryPolicy = { maxAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 30_000, maxRetryAfterMs: 120_000 };

export interface ArmRetryDeps {
  /** Resolves after ms, or rejects with an AbortError when the signal fires. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Uniform in [0, 1). */
  random: () => number;
  log?: { warn(message: string): void };
}

export const realRetryDeps: ArmRetryDeps = {
  sleep: (ms, signal) => delay(ms, undefined, { signal }),
  random: Math.random,
};

/** Half the capped exponential step plus a random share of the other half ("equal jitter"). */
export function backoffDelayMs(policy: ArmRetryPolicy, attempt: number, random: () => number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(cap / 2 + random() * (cap / 2));
}

/**
 * Runs `call` until it succeeds, fails for good, or the signal fires. `what` describes the action
 * ("grow scale set x to 3 nodes") and starts every error message.
 */
export async function withArmRetry<T>(
  what: string,
  call: (signal: AbortSignal | undefined) => Promise<T>,
  options: { policy: ArmRetryPolicy; deps: ArmRetryDeps; signal?: AbortSignal },
): Promise<T> {
  const { policy, deps, signal } = options;
  const canceled = () => new ScaleSetError('Canceled', `Could not ${what}: canceled.`);
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw canceled();
    try {
      return await call(signal);
    } catch (err) {
      if (signal?.aborted || isAbortError(err)) throw canceled();
      if (err instanceof ScaleSetError) throw err;
      const failure = classifyArmFailure(err);
      if (!failure.retryable) throw new ScaleSetError(failure.code, `Could not ${what}: ${failure.detail}`, failure.retryAfterMs);
      if (attempt >= policy.maxAttempts) {
        throw new ScaleSetError(
          failure.code,
          `Could not ${what}: gave up after ${attempt} attempts; last error: ${failure.detail}`,
          failure.retryAfterMs,
        );
      }
      if (failure.retryAfterMs !== undefined && failure.retryAfterMs > policy.maxRetryAfterMs) {
        throw new ScaleSetError(
          failure.code,
          `Could not ${what}: the service asked to wait ${Math.ceil(failure.retryAfterMs / 1000)} s before trying again; last error: ${failure.detail}`,
          failure.retryAfterMs,
        );
      }
      const wait = failure.retryAfterMs ?? backoffDelayMs(policy, attempt, deps.random);
      deps.log?.warn(`ARM: ${what}: attempt ${attempt} failed (${failure.detail}); retrying in ${wait} ms`);
      try {
        await deps.sleep(wait, signal);
      } catch (sleepErr) {
        if (signal?.aborted || isAbortError(sleepErr)) throw canceled();
        throw sleepErr;
      }
    }
  }
}
