// Turns a function's HTTP output (RpcHttp, as the @azure/functions library produces it) into the
// response the Functions host writes: status, headers, Set-Cookie lines and the body bytes.

import { validateHeaderName, validateHeaderValue, type ServerResponse } from 'node:http';
import type { InvokeResult, RegisteredFunction, RpcHttpData, RpcTypedData } from '../contracts.js';

export interface HttpResponsePlan {
  status: number;
  /** Lower-cased names; "set-cookie" may carry several lines. */
  headers: Map<string, string | string[]>;
  body: Buffer;
}

/** Headers that describe the connection or framing, which the server decides itself. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
]);

/**
 * Picks the function's HTTP output: its "http" output binding, read from the return value when
 * that binding is "$return" (the library's default) and from the named outputs otherwise.
 */
export function selectHttpOutput(fn: RegisteredFunction, result: InvokeResult): RpcTypedData | null | undefined {
  const httpOutput = Object.entries(fn.metadata.bindings).find(
    ([, binding]) => binding.direction === 'out' && String(binding.type ?? '').toLowerCase() === 'http',
  );
  if (!httpOutput || httpOutput[0] === '$return') return result.returnValue;
  return result.outputs[httpOutput[0]];
}

/**
 * No output at all gives 200 with an empty body, as the host's invocation middleware does
 * (it falls back to an OkResult when the function set no response).
 */
export function toHttpResponsePlan(output: RpcTypedData | null | undefined): HttpResponsePlan {
  const headers = new Map<string, string | string[]>();
  if (!output) return { status: 200, headers, body: Buffer.alloc(0) };
  if (!output.http) {
    // A non-HTTP value on an HTTP output: the host writes it as the body of a 200.
    return { status: 200, headers: withDefaultContentType(headers, output), body: typedDataBytes(output) };
  }
  return fromRpcHttp(output.http);
}

function fromRpcHttp(http: RpcHttpData): HttpResponsePlan {
  const status = parseStatus(http.statusCode);
  const headers = new Map<string, string | string[]>();
  for (const [name, value] of Object.entries(http.headers ?? {})) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || value === undefined || value === null) continue;
    headers.set(lower, String(value));
  }
  for (const [name, entry] of Object.entries(http.nullableHeaders ?? {})) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || headers.has(lower)) continue;
    headers.set(lower, entry?.value ?? '');
  }

  const cookies = (http.cookies ?? []).map((c) => serializeRpcCookie(c as RpcCookie));
  if (cookies.length > 0) {
    const existing = headers.get('set-cookie');
    const lines = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
    headers.set('set-cookie', [...lines, ...cookies]);
  }

  const body = http.body ? typedDataBytes(http.body) : Buffer.alloc(0);
  if (http.body) withDefaultContentType(headers, http.body);
  return { status, headers, body };
}

function parseStatus(statusCode: string | null | undefined): number {
  if (statusCode === undefined || statusCode === null || statusCode === '') return 200;
  const status = Number(statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new Error(`The function returned an invalid HTTP status code '${statusCode}'`);
  }
  return status;
}

export function typedDataBytes(data: RpcTypedData): Buffer {
  if (data.bytes) return Buffer.from(data.bytes);
  if (data.stream) return Buffer.from(data.stream);
  if (typeof data.string === 'string') return Buffer.from(data.string, 'utf8');
  if (typeof data.json === 'string') return Buffer.from(data.json, 'utf8');
  if (typeof data.int === 'number') return Buffer.from(String(data.int), 'utf8');
  if (typeof data.double === 'number') return Buffer.from(String(data.double), 'utf8');
  return Buffer.alloc(0);
}

function withDefaultContentType(
  headers: Map<string, string | string[]>,
  body: RpcTypedData,
): Map<string, string | string[]> {
  if (headers.has('content-type')) return headers;
  if (typeof body.json === 'string') headers.set('content-type', 'application/json; charset=utf-8');
  else if (typeof body.string === 'string') headers.set('content-type', 'text/plain; charset=utf-8');
  return headers;
}

/** An RpcHttpCookie, whose optional fields come wrapped as { value } (nullable RPC types). */
interface RpcCookie {
  name?: string;
  value?: string;
  domain?: Wrapped<string>;
  path?: Wrapped<string>;
  expires?: Wrapped<{ seconds?: number | string; nanos?: number } | number | string | Date>;
  secure?: Wrapped<boolean>;
  httpOnly?: Wrapped<boolean>;
  sameSite?: string | number | null;
  maxAge?: Wrapped<number>;
}

type Wrapped<T> = { value?: T | null } | T | null | undefined;

function unwrap<T>(field: Wrapped<T>): T | undefined {
  if (field === null || field === undefined) return undefined;
  if (typeof field === 'object' && !(field instanceof Date) && 'value' in (field as object)) {
    const inner = (field as { value?: T | null }).value;
    return inner === null ? undefined : inner;
  }
  return field as T;
}

/**
 * One Set-Cookie line in the form ASP.NET's SetCookieHeaderValue writes: the value escaped as
 * Uri.EscapeDataString does, then expires, max-age, domain, path (default "/", as CookieOptions),
 * secure, samesite and httponly.
 */
export function serializeRpcCookie(cookie: RpcCookie): string {
  const name = String(cookie.name ?? '');
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
    throw new Error(`The function returned a cookie with an invalid name '${name}'`);
  }
  const parts = [`${name}=${escapeDataString(String(cookie.value ?? ''))}`];

  const expires = toDate(unwrap(cookie.expires));
  if (expires) parts.push(`expires=${expires.toUTCString()}`);
  const maxAge = unwrap(cookie.maxAge);
  if (typeof maxAge === 'number' && Number.isFinite(maxAge)) parts.push(`max-age=${Math.trunc(maxAge)}`);
  const domain = unwrap(cookie.domain);
  if (domain) parts.push(`domain=${domain}`);
  parts.push(`path=${unwrap(cookie.path) || '/'}`);
  if (unwrap(cookie.secure)) parts.push('secure');
  const sameSite = sameSiteAttribute(cookie.sameSite);
  if (sameSite) parts.push(`samesite=${sameSite}`);
  if (unwrap(cookie.httpOnly)) parts.push('httponly');

  const line = parts.join('; ');
  if (/[\r\n]/.test(line)) throw new Error('The function returned a cookie attribute containing a line break');
  return line;
}

function toDate(value: unknown): Date | undefined {
  if (value === undefined || value === null) return undefined;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  if (typeof value === 'number') return new Date(value);
  if (typeof value === 'string') {
    const parsed = new Date(value);
    return Number.isNaN(parsed.getTime()) ? undefined : parsed;
  }
  if (typeof value === 'object' && 'seconds' in value) {
    const { seconds, nanos } = value as { seconds?: number | string; nanos?: number };
    return new Date(Number(seconds ?? 0) * 1000 + Math.floor((nanos ?? 0) / 1e6));
  }
  return undefined;
}

/** RpcHttpCookie.SameSite: None (= not set), Lax, Strict, ExplicitNone; as names or proto numbers. */
function sameSiteAttribute(sameSite: string | number | null | undefined): string | undefined {
  switch (typeof sameSite === 'string' ? sameSite.toLowerCase() : sameSite) {
    case 'lax':
    case 1:
      return 'lax';
    case 'strict':
    case 2:
      return 'strict';
    case 'explicitnone':
    case 3:
      return 'none';
    default:
      return undefined;
  }
}

/** RFC 3986 percent-encoding of everything but unreserved characters, like .NET's EscapeDataString. */
function escapeDataString(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Statuses whose responses never carry a body. */
export function statusForbidsBody(status: number): boolean {
  return status === 204 || status === 304 || (status >= 100 && status < 200);
}

export function writeHttpResponse(res: ServerResponse, plan: HttpResponsePlan, isHeadRequest: boolean): void {
  // Validate everything first, so a bad header from the function fails before anything is set.
  for (const [name, value] of plan.headers) {
    validateHeaderName(name);
    for (const line of Array.isArray(value) ? value : [value]) validateHeaderValue(name, line);
  }
  res.statusCode = plan.status;
  for (const [name, value] of plan.headers) res.setHeader(name, value);
  const withoutBody = isHeadRequest || statusForbidsBody(plan.status);
  if (!statusForbidsBody(plan.status)) res.setHeader('content-length', plan.body.length);
  res.end(withoutBody ? undefined : plan.body);
}

export function writeEmptyResponse(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (!statusForbidsBody(status)) res.setHeader('content-length', 0);
  res.end();
}
