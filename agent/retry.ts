// Calls the control plane until it answers. Reports are idempotent on its side, so repeating one
// whose answer was lost is harmless.
import { Backoff, sleep } from './backoff.js';
import { ControlPlaneUnavailable } from './control-plane-client.js';

export interface RetryOptions {
  log: (line: string) => void;
  what: string;
  /** Give up (rejecting with the last error) when this aborts. */
  signal?: AbortSignal;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

export async function retryWhileUnavailable<T>(call: () => Promise<T>, options: RetryOptions): Promise<T> {
  const backoff = new Backoff(options.initialDelayMs ?? 200, options.maxDelayMs ?? 5_000);
  let attempts = 0;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof ControlPlaneUnavailable) || options.signal?.aborted) throw error;
      attempts++;
      // Say so once, then every tenth try, so a long outage does not flood the log.
      if (attempts === 1 || attempts % 10 === 0) options.log(`${options.what}: control plane unavailable (${error.message}); retrying`);
      await sleep(backoff.next(), options.signal);
    }
  }
}
