// A pass-through HTTP proxy that counts the requests crossing it. The agents are separate
// processes, so their queue, blob and control-plane requests cannot be counted at an adapter in
// this process; pointing them at a proxy in front of the real endpoint counts them unchanged
// (Shared Key signatures cover the path, not the host, so Azure Storage requests still verify).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RequestCounter } from '../shared/adapters/request-counter.js';

/** Names a request for the counter, e.g. "queue.receive". */
export type RequestClassifier = (method: string, url: URL) => string;

export interface CountingProxy {
  /** The target URL with the proxy's origin in place of the target's. */
  url: string;
  counter: RequestCounter;
  close(): Promise<void>;
}

export async function startCountingProxy(target: string, classify: RequestClassifier, counter = new RequestCounter()): Promise<CountingProxy> {
  const targetUrl = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', targetUrl.origin);
    counter.increment(classify(req.method ?? 'GET', url));
    const upstream = http.request(
      { host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers: { ...req.headers, host: targetUrl.host }, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${err.message}`);
    });
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const proxied = new URL(target);
  proxied.host = `127.0.0.1:${port}`;
  return {
    url: proxied.toString().replace(/\/$/, ''),
    counter,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

/** Azure Queue REST operations by method and path shape (/account/queue[/messages[/id]]). */
export function classifyQueueRequest(method: string, url: URL): string {
  const segments = url.pathname.split('/').filter(Boolean);
  const onMessages = segments[2] === 'messages';
  const onMessage = onMessages && segments.length > 3;
  if (onMessage && method === 'DELETE') return 'queue.delete';
  if (onMessage && method === 'PUT') return 'queue.extendLease';
  if (onMessages && method === 'GET') return url.searchParams.get('peekonly') === 'true' ? 'queue.peek' : 'queue.receive';
  if (onMessages && method === 'POST') return 'queue.send';
  if (onMessages && method === 'DELETE') return 'queue.clear';
  if (segments.length === 2 && method === 'PUT') return 'queue.create';
  if (url.searchParams.get('comp') === 'metadata') return 'queue.metadata';
  return `queue.${method.toLowerCase()}`;
}

/** Blob requests by method and `comp` or `restype` (e.g. "blob.PUT.appendblock", "blob.PUT.container"). */
export function classifyBlobRequest(method: string, url: URL): string {
  const detail = url.searchParams.get('comp') ?? url.searchParams.get('restype');
  return `blob.${method}${detail ? `.${detail}` : ''}`;
}

/** Control-plane API calls by route, ids dropped (e.g. "api.agent/claim"). */
export function classifyApiRequest(_method: string, url: URL): string {
  const route = url.pathname.replace(/^\/api\//, '');
  return `api.${route.startsWith('agent/') ? route : route.split('/')[0]}`;
}
