// What a failed ARM call means for the scale-set provider: whether trying again can help, how long
// the service asked us to wait, and which ScaleSetError it becomes if we give up.
//
// Sources of failure seen through @azure/arm-compute 24 (a TypeSpec-generated client):
// - an HTTP error: a RestError with `statusCode` and the ARM error `code` from `{ error: { code, message } }`;
// - a network failure: a RestError without `statusCode` (code REQUEST_SEND_ERROR, ECONNRESET, ...);
// - a long-running operation that ended Failed: a plain Error from @azure/core-lro whose message is
//   "The long-running operation has failed. <code>. <message>";
// - cancellation: an AbortError.

import { ScaleSetError, type ScaleSetErrorCode } from '../ports/scale-set-provider.js';

export interface ArmFailure {
  code: ScaleSetErrorCode;
  /** Whether the same call may succeed later: throttling, conflicts, 5xx, network, transient LRO failures. */
  retryable: boolean;
  /** From the Retry-After header, when the service sent one. */
  retryAfterMs?: number;
  /** One line naming the ARM error, e.g. "OperationNotAllowed (HTTP 409): Operation could not ...". */
  detail: string;
  /** HTTP status, when the failure was an HTTP answer. */
  status?: number;
  /** The ARM error code, when known. */
  armCode?: string;
}

const LRO_FAILED = /^The long-running operation has failed\.?\s*(?:([^.\s]+)\.\s*)?([\s\S]*)$/;
const NETWORK_CODES = new Set(['REQUEST_SEND_ERROR', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET']);
/** Failed LRO codes that mean "the platform hiccuped", not "your request is wrong". */
const TRANSIENT_OPERATION_CODES = /^(InternalExecutionError|InternalServerError|InternalOperationError|ServiceUnavailable|RetryableError|TooManyRequests|GatewayTimeout)$/i;

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as { code?: unknown }).code === 'ABORT_ERR');
}

export function classifyArmFailure(err: unknown, now: () => number = Date.now): ArmFailure {
  if (err instanceof ScaleSetError) {
    return { code: err.code, retryable: false, retryAfterMs: err.retryAfterMs, detail: err.message };
  }
  if (isAbortError(err)) return { code: 'Canceled', retryable: false, detail: 'the call was canceled' };
  if (!(err instanceof Error)) return { code: 'Failed', retryable: false, detail: String(err) };

  const lro = LRO_FAILED.exec(err.message);
  if (lro) {
    const armCode = lro[1] ?? 'OperationFailed';
    const message = lro[2]?.trim() || 'no details given';
    const detail = `the operation ended Failed: ${armCode}: ${message}`;
    if (isQuota(armCode, message)) return { code: 'QuotaExceeded', retryable: false, detail, armCode };
    return { code: 'Failed', retryable: TRANSIENT_OPERATION_CODES.test(armCode), detail, armCode };
  }

  const status = (err as { statusCode?: unknown }).statusCode;
  const rawCode: unknown = (err as { code?: unknown }).code;
  const armCode = typeof rawCode === 'string' ? rawCode : undefined;
  if (typeof status !== 'number') {
    if (err.name === 'RestError' || (armCode !== undefined && NETWORK_CODES.has(armCode))) {
      return { code: 'Failed', retryable: true, detail: `network error: ${err.message}`, armCode };
    }
    return { code: 'Failed', retryable: false, detail: err.message, armCode };
  }

  const detail = `${armCode ?? 'HTTP error'} (HTTP ${status}): ${err.message}`;
  const base = { detail, status, armCode };
  if (isQuota(armCode, err.message)) return { ...base, code: 'QuotaExceeded', retryable: false };
  if (status === 429) return { ...base, code: 'Throttled', retryable: true, retryAfterMs: retryAfterOf(err, now) };
  if (status === 409) return { ...base, code: 'Conflict', retryable: true, retryAfterMs: retryAfterOf(err, now) };
  if (status === 404) return { ...base, code: 'NotFound', retryable: false };
  if (status >= 500 || status === 408) return { ...base, code: 'Failed', retryable: true, retryAfterMs: retryAfterOf(err, now) };
  return { ...base, code: 'Failed', retryable: false };
}

/**
 * ARM reports exhausted quota as 409 OperationNotAllowed (or QuotaExceeded) with "quota" in the
 * message; retrying cannot help until someone raises the quota.
 */
function isQuota(armCode: string | undefined, message: string): boolean {
  if (armCode === undefined) return false;
  if (/quota/i.test(armCode)) return true;
  return armCode === 'OperationNotAllowed' && /quota/i.test(message);
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterOf(err: unknown, now: () => number = Date.now): number | undefined {
  const headers = (err as { response?: { headers?: { get?(name: string): string | undefined } } }).response?.headers;
  const value = headers?.get?.('retry-after');
  if (value === undefined || value === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now());
}
