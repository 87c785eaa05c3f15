// The local host's HTTP front door: routes requests to HTTP-triggered functions (or to host
// routes such as the Durable Functions management API), enforces function keys, and turns each
// request into an invocation and its result back into a response, as the Functions host does.

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostLog, Invoker, InvokeResult, RegisteredFunction } from '../contracts.js';
import { buildHttpRoutes, findHttpRoute, type HttpRoute, type RouteMatch } from './http-routes.js';
import { forwardToStreamProxy, type InvokerWithId } from './http-stream.js';
import { FUNCTION_KEY_HEADER, presentedKey, type HostKeys, type KeyAuthLevel } from './keys.js';
import { BodyTooLargeError, declaredLength, readRequestBody, RequestAbortedError } from './request-body.js';
import { flattenHeaders, requestUrl, toHttpInvokeRequest } from './request-mapping.js';
import { selectHttpOutput, toHttpResponsePlan, writeEmptyResponse, writeHttpResponse } from './response-mapping.js';

export interface ExtraRoute {
  /** e.g. '/runtime/webhooks/durabletask/'; matched case-insensitively against the path. */
  pathPrefix: string;
  auth: KeyAuthLevel;
  systemKeyName?: string;
  handle(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<void>;
}

export interface HttpServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 = any free port. */
  port: number;
  /** From host.json extensions.http.routePrefix; default 'api'; '' allowed. */
  routePrefix: string;
  /** Only those whose trigger type is httpTrigger are served. */
  functions: RegisteredFunction[];
  invoke: Invoker;
  keys: HostKeys;
  log: HostLog;
  extraRoutes?: ExtraRoute[];
  /** Default 100 MB; a larger body gets 413. */
  maxBodyBytes?: number;
  /**
   * HTTP streaming (app.setup({ enableHttpStream: true })): the HttpUri capability the library
   * reported. When set, each HTTP request is forwarded there while the invocation runs, and
   * `invokeWithId` must be given so the invocation id matches the forwarded request's.
   */
  httpStreamProxyUri?: string;
  invokeWithId?: InvokerWithId;
  newInvocationId?: () => string;
  /** Streaming: how long to wait, once the invocation has finished, for the proxied response. */
  streamResponseGraceMs?: number;
}

export interface RunningHttpServer {
  port: number;
  baseUrl: string;
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024;

export async function startHttpServer(opts: HttpServerOptions): Promise<RunningHttpServer> {
  // Invalid route templates fail here, before the port opens.
  const routes = buildHttpRoutes(opts.functions, opts.routePrefix ?? 'api');
  if (opts.httpStreamProxyUri && !opts.invokeWithId) {
    throw new Error('HTTP streaming needs invokeWithId, so the invocation id matches the proxied request');
  }
  const host = opts.host ?? '127.0.0.1';
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  let origin = '';

  const server = createServer((req, res) => {
    handleRequest(req, res).catch((error: unknown) => {
      opts.log.error(`HTTP request handling failed: ${describeError(error)}`);
      writeEmptyResponse(res, 500);
    });
  });

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req, origin || `http://${host}`);
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname;

    const extra = opts.extraRoutes?.find((r) => path.toLowerCase().startsWith(r.pathPrefix.toLowerCase()));
    if (extra) {
      if (!opts.keys.authorize(extra.auth, requestKey(req, url), extra.systemKeyName)) {
        return writeEmptyResponse(res, 401);
      }
      const body = await readBodyOrRespond(req, res);
      if (body) await extra.handle(req, res, url, body);
      return;
    }

    const match = findHttpRoute(routes, method, path);
    if (!match) return writeEmptyResponse(res, 404);
    if (!opts.keys.authorize(match.route.authLevel, requestKey(req, url))) return writeEmptyResponse(res, 401);

    if (opts.httpStreamProxyUri && opts.invokeWithId) {
      if ((declaredLength(req) ?? 0) > maxBodyBytes) {
        // Drain first, for the same reason as in readRequestBody.
        await readBodyOrRespond(req, res);
        return;
      }
      await forwardToStreamProxy({
        req,
        res,
        url,
        match,
        proxyUri: opts.httpStreamProxyUri,
        invoke: opts.invokeWithId,
        invocationId: (opts.newInvocationId ?? randomUUID)(),
        maxBodyBytes,
        graceMs: opts.streamResponseGraceMs ?? 5_000,
        log: opts.log,
      });
      return;
    }

    const body = await readBodyOrRespond(req, res);
    if (!body) return;
    await invokeBuffered(req, res, url, method, match, body);
  }

  async function invokeBuffered(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    method: string,
    match: RouteMatch,
    body: Buffer,
  ): Promise<void> {
    const { fn } = match.route;
    const request = toHttpInvokeRequest({ method, url, headers: flattenHeaders(req), params: match.params, body });
    let result: InvokeResult;
    try {
      result = await opts.invoke(fn, request);
    } catch (error) {
      // The client gets a bare 500, as from the host; the detail goes to the host log only.
      opts.log.error(`Function '${fn.name}' failed (${method} ${url.pathname}): ${describeError(error)}`);
      return writeEmptyResponse(res, 500);
    }
    try {
      writeHttpResponse(res, toHttpResponsePlan(selectHttpOutput(fn, result)), method === 'HEAD');
    } catch (error) {
      opts.log.error(`Function '${fn.name}' returned an unusable HTTP response: ${describeError(error)}`);
      writeEmptyResponse(res, 500);
    }
  }

  /** The body, or undefined once a 413 (or nothing, for an aborted request) has been sent. */
  async function readBodyOrRespond(req: IncomingMessage, res: ServerResponse): Promise<Buffer | undefined> {
    try {
      return await readRequestBody(req, maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        writeEmptyResponse(res, 413, { connection: 'close' });
      } else if (error instanceof RequestAbortedError) {
        res.destroy();
      } else {
        throw error;
      }
      return undefined;
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => opts.log.error(`HTTP server error: ${describeError(error)}`));

  const { port } = server.address() as AddressInfo;
  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  origin = `http://${hostForUrl}:${port}`;
  logRoutes(opts.log, routes, origin);

  return {
    port,
    baseUrl: origin,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function requestKey(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers[FUNCTION_KEY_HEADER];
  return presentedKey(Array.isArray(header) ? header[0] : header, url);
}

function logRoutes(log: HostLog, routes: HttpRoute[], origin: string): void {
  for (const route of routes) {
    const methods = [...route.methods].join(',');
    log.info(`HTTP function ${route.fn.name}: [${methods}] ${origin}/${route.template.text} (${route.authLevel})`);
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return String(error);
}
