// HTTP streaming, as the Functions host does it for apps that call
// app.setup({ enableHttpStream: true }): the library runs its own HTTP proxy (reported as the
// HttpUri capability); for each request the host starts the invocation AND forwards the raw
// request there, tagged with x-ms-invocation-id, then pipes the proxy's response to the client.
// The library pairs the two by invocation id, reads the request body as a stream and writes the
// response through the proxy instead of returning it over RPC.

import { request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import type { HostLog, InvokeRequest, InvokeResult, RegisteredFunction } from '../contracts.js';
import type { RouteMatch } from './http-routes.js';
import { flattenHeaders, toHttpInvokeRequest } from './request-mapping.js';
import { writeEmptyResponse } from './response-mapping.js';

/** An Invoker that runs the invocation under a given invocation id (the library's coreCtx.invocationId). */
export type InvokerWithId = (fn: RegisteredFunction, request: InvokeRequest, invocationId: string) => Promise<InvokeResult>;

export const INVOCATION_ID_HEADER = 'x-ms-invocation-id';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

export interface StreamForwardOptions {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  match: RouteMatch;
  proxyUri: string;
  invoke: InvokerWithId;
  invocationId: string;
  maxBodyBytes: number;
  /** After the invocation completes, how long the proxied response may still take to arrive. */
  graceMs: number;
  log: HostLog;
}

export async function forwardToStreamProxy(o: StreamForwardOptions): Promise<void> {
  const { req, res, url, match, invocationId, log } = o;
  const fn = match.route.fn;
  const method = (req.method ?? 'GET').toUpperCase();

  // The trigger data is still sent (without the body, which travels through the proxy); the
  // library reads headers and route values from the trigger metadata in this mode.
  const invokeRequest = toHttpInvokeRequest({
    method,
    url,
    headers: flattenHeaders(req),
    params: match.params,
    body: Buffer.alloc(0),
  });

  let aborted = false;
  let abortProxy: () => void = () => undefined;
  const responded = new Promise<'responded' | 'failed'>((resolve) => {
    const proxyReq = openProxyRequest(o, method);
    const settle = (outcome: 'responded' | 'failed'): void => resolve(outcome);

    proxyReq.on('response', (proxyRes) => {
      res.statusCode = proxyRes.statusCode ?? 200;
      for (const [name, value] of Object.entries(proxyRes.headers)) {
        if (value === undefined || HOP_BY_HOP.has(name) || name === INVOCATION_ID_HEADER) continue;
        res.setHeader(name, value);
      }
      proxyRes.pipe(res);
      proxyRes.on('end', () => settle('responded'));
      proxyRes.on('error', () => {
        res.destroy();
        settle('failed');
      });
    });
    proxyReq.on('error', (error) => {
      if (!aborted) log.error(`HTTP stream proxy request for '${fn.name}' failed: ${error.message}`);
      settle('failed');
    });

    abortProxy = () => {
      aborted = true;
      proxyReq.destroy();
    };
    res.on('close', () => {
      if (!res.writableFinished) abortProxy();
    });

    const limiter = new BodyLimiter(o.maxBodyBytes);
    limiter.on('error', () => {
      log.warn(`Request body for '${fn.name}' exceeds ${o.maxBodyBytes} bytes; aborting the stream`);
      abortProxy();
      // Keep reading (and discarding) so the client gets the 413 rather than a reset connection.
      req.unpipe();
      req.resume();
      writeEmptyResponse(res, 413, { connection: 'close' });
      settle('failed');
    });
    req.pipe(limiter).pipe(proxyReq);
  });

  let result: 'ok' | 'error';
  try {
    await o.invoke(fn, invokeRequest, invocationId);
    result = 'ok';
  } catch (error) {
    log.error(
      `Function '${fn.name}' failed (${method} ${url.pathname}): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    result = 'error';
  }

  if (result === 'error') {
    if (!res.headersSent) {
      abortProxy();
      writeEmptyResponse(res, 500);
      return;
    }
    // Part of the response has gone out: let what the proxy delivers finish, as the host does.
    await responded;
    return;
  }

  // A function that returned nothing never answers through the proxy; give the proxied response
  // a grace period to arrive, then answer 200 with an empty body as the host does.
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    responded,
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), o.graceMs);
    }),
  ]);
  clearTimeout(timer);
  if (outcome === 'timeout' && !res.headersSent) {
    abortProxy();
    writeEmptyResponse(res, 200);
  } else if (outcome === 'timeout') {
    await responded;
  }
}

function openProxyRequest(o: StreamForwardOptions, method: string): ClientRequest {
  const target = new URL(o.req.url ?? '/', o.proxyUri);
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(o.req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || name === 'host') continue;
    headers[name] = value;
  }
  headers[INVOCATION_ID_HEADER] = o.invocationId;
  // The library rebuilds the request URL from these two.
  headers['x-forwarded-host'] = o.url.host;
  headers['x-forwarded-proto'] = o.url.protocol.replace(/:$/, '');
  return httpRequest(target, { method, headers });
}

class BodyLimiter extends Transform {
  private received = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.received += chunk.length;
    if (this.received > this.limit) callback(new Error('body too large'));
    else callback(null, chunk);
  }
}
