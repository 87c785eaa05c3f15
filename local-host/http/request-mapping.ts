// Turns an incoming HTTP request into the RPC shape the Functions host sends the Node worker for
// an HTTP trigger (RpcHttp), with the capabilities the Node worker declares: raw body bytes
// (RawHttpBodyBytes) and empty query values kept (UseNullableValueDictionaryForHttp).

import type { IncomingMessage } from 'node:http';
import type { InvokeRequest, RpcHttpData, RpcTypedData } from '../contracts.js';

/**
 * The request's absolute URL as the host reports it: scheme, the Host header, path and query.
 * Falls back to `fallbackOrigin` when the Host header is missing or unusable.
 */
export function requestUrl(req: IncomingMessage, fallbackOrigin: string): URL {
  const target = req.url ?? '/';
  const host = req.headers.host;
  if (host && /^[A-Za-z0-9.\-:[\]]+$/.test(host)) {
    try {
      return new URL(target, `http://${host}`);
    } catch {
      // fall through to the fallback origin
    }
  }
  return new URL(target, fallbackOrigin);
}

/** Header names lower-cased; repeated headers joined with ", ". */
export function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (values === undefined) continue;
    headers[name.toLowerCase()] = values.join(', ');
  }
  return headers;
}

/**
 * Query values by key. The host builds this from ASP.NET's query collection: keys compare
 * case-insensitively (the first spelling is kept) and repeated keys give their values joined
 * with "," (StringValues.ToString()).
 */
export function flattenQuery(searchParams: URLSearchParams): Record<string, string> {
  const grouped = new Map<string, { key: string; values: string[] }>();
  for (const [key, value] of searchParams) {
    const folded = key.toLowerCase();
    const entry = grouped.get(folded);
    if (entry) entry.values.push(value);
    else grouped.set(folded, { key, values: [value] });
  }
  const query: Record<string, string> = {};
  for (const { key, values } of grouped.values()) query[key] = values.join(',');
  return query;
}

export interface HttpTriggerInput {
  method: string;
  url: URL;
  headers: Record<string, string>;
  params: Record<string, string>;
  body: Buffer;
}

export function toRpcHttpRequest(input: HttpTriggerInput): RpcHttpData {
  const http: RpcHttpData = {
    method: input.method,
    url: input.url.toString(),
    headers: { ...input.headers },
    query: flattenQuery(input.url.searchParams),
    params: { ...input.params },
  };
  if (input.body.length > 0) {
    // A private copy: the bytes must reach the function unchanged whatever the caller does next.
    http.body = { bytes: new Uint8Array(input.body) };
  }
  return http;
}

/**
 * Trigger metadata as the host builds it for HTTP: the route values by name, plus "Query" and
 * "Headers" as JSON. The library ignores it for buffered HTTP, but reads Headers and the route
 * values from it when HTTP streaming is on.
 */
export function httpTriggerMetadata(http: RpcHttpData): Record<string, RpcTypedData> {
  const metadata: Record<string, RpcTypedData> = {};
  for (const [name, value] of Object.entries(http.params ?? {})) metadata[name] = { string: value };
  metadata.Query = { json: JSON.stringify(http.query ?? {}) };
  metadata.Headers = { json: JSON.stringify(http.headers ?? {}) };
  return metadata;
}

export function toHttpInvokeRequest(input: HttpTriggerInput): InvokeRequest {
  const http = toRpcHttpRequest(input);
  return { triggerData: { http }, triggerMetadata: httpTriggerMetadata(http) };
}
