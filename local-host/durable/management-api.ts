// The Durable extension's HTTP management API (the "webhooks" the DurableClient and the
// createCheckStatusResponse URLs call), served by the local host under
// /runtime/webhooks/durabletask/. Status codes follow the extension: 202 while an instance runs,
// 200 once it completed, 400 once it failed or was terminated, 404 when unknown, 410 when an
// operation targets an instance that has already finished.
//
// The API answers requests as values (ManagementApi), so the host serves it both over HTTP
// (managementOverHttp) and, to the app's own DurableClients, in process (in-process-client.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DurableApiError, type DurableBackend } from './backend.js';
import { DURABLE_WEBHOOK_PATH, managementPayload, type DurableClientData } from './client-data.js';
import type { RuntimeStatus } from './state.js';

const STATUSES: RuntimeStatus[] = ['Pending', 'Running', 'Completed', 'ContinuedAsNew', 'Failed', 'Terminated', 'Suspended'];
const PAGE_SIZE = 100;

class BadRequest extends Error {}

export interface ManagementRequest {
  method: string;
  url: URL;
  /** scheme://host the caller addressed, for the URLs the answer carries. */
  origin: string;
  /** The x-ms-continuation-token header of a listing. */
  continuationToken?: string;
  body: Buffer;
}

export interface ManagementResponse {
  status: number;
  headers: Record<string, string>;
  /** JSON text; absent for an empty answer. */
  body?: string;
}

export type ManagementApi = (request: ManagementRequest) => ManagementResponse;

export function createManagementApi(backend: DurableBackend, clientData: (origin: string) => DurableClientData): ManagementApi {
  return function answer(request: ManagementRequest): ManagementResponse {
    try {
      return route(request);
    } catch (err) {
      if (err instanceof DurableApiError) return json(err.status, { message: err.message });
      if (err instanceof BadRequest) return json(400, { message: err.message });
      throw err;
    }
  };

  function route({ method, url, origin, continuationToken, body }: ManagementRequest): ManagementResponse {
    const rest = url.pathname.slice(DURABLE_WEBHOOK_PATH.length).replace(/^\/+/, '');
    const parts = rest.split('/').map(decodeSegment);

    if (parts[0] === 'orchestrators' && parts.length >= 2 && parts.length <= 3 && parts[1]) {
      if (method !== 'POST') return notAllowed('POST');
      const input = parseBody(body);
      const instanceId = backend.startNew(parts[1], { instanceId: parts[2] || undefined, input });
      const payload = managementPayload(clientData(origin), instanceId);
      return json(202, payload, { Location: payload.statusQueryGetUri!, 'Retry-After': '10' });
    }
    if (parts[0] !== 'instances') return json(404, { message: `No management API at ${url.pathname}` });
    const instanceId = parts[1] ?? '';

    if (!instanceId) {
      if (method === 'GET') return listInstances(url, continuationToken);
      if (method === 'DELETE') {
        const deleted = backend.purge(listFilter(url));
        return deleted ? json(200, { instancesDeleted: deleted }) : json(404, { message: 'No instances matched.' });
      }
      return notAllowed('GET, DELETE');
    }

    const operation = parts[2];
    if (!operation) {
      if (method === 'GET') {
        const view = backend.getStatus(instanceId, {
          showHistory: flag(url, 'showHistory'),
          showHistoryOutput: flag(url, 'showHistoryOutput'),
          showInput: url.searchParams.get('showInput') === null ? true : flag(url, 'showInput'),
        });
        if (!view) return json(404, { message: `No instance with ID '${instanceId}' was found.` });
        const status = view.runtimeStatus === 'Completed' ? 200 : view.runtimeStatus === 'Failed' || view.runtimeStatus === 'Terminated' ? 400 : 202;
        return json(status, view, status === 202 ? { Location: url.href, 'Retry-After': '10' } : {});
      }
      if (method === 'DELETE') {
        const deleted = backend.purge({ instanceId });
        return deleted ? json(200, { instancesDeleted: deleted }) : json(404, { message: `No finished instance with ID '${instanceId}' was found.` });
      }
      return notAllowed('GET, DELETE');
    }

    if (method !== 'POST') return notAllowed('POST');
    const reason = url.searchParams.get('reason') ?? '';
    switch (operation) {
      case 'raiseEvent': {
        const eventName = parts[3];
        if (!eventName) throw new BadRequest('The event name is missing: POST instances/{instanceId}/raiseEvent/{eventName}.');
        backend.raiseEvent(instanceId, eventName, parseBody(body));
        return empty(202);
      }
      case 'terminate':
        backend.terminate(instanceId, reason);
        return empty(202);
      case 'suspend':
        backend.suspend(instanceId, reason);
        return empty(202);
      case 'resume':
        backend.resume(instanceId, reason);
        return empty(202);
      case 'rewind':
      case 'restart':
        throw new BadRequest(`'${operation}' is not supported by the local host.`);
      default:
        return json(404, { message: `Unknown operation '${operation}'.` });
    }
  }

  function listInstances(url: URL, continuationToken: string | undefined): ManagementResponse {
    const all = backend.list(listFilter(url), { showInput: flag(url, 'showInput') });
    const top = url.searchParams.get('top');
    const pageSize = top === null ? PAGE_SIZE : positiveInt(top, 'top');
    const start = continuationToken ? positiveInt(continuationToken, 'x-ms-continuation-token', true) : 0;
    const page = all.slice(start, start + pageSize);
    return json(200, page, start + pageSize < all.length ? { 'x-ms-continuation-token': String(start + pageSize) } : {});
  }
}

/** The API as an HTTP route of the host's server. */
export function managementOverHttp(api: ManagementApi) {
  return async function handle(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<void> {
    const token = req.headers['x-ms-continuation-token'];
    const answer = api({
      method: req.method ?? 'GET',
      url,
      origin: `${url.protocol}//${req.headers.host ?? url.host}`,
      ...(typeof token === 'string' && token ? { continuationToken: token } : {}),
      body,
    });
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BadRequest(`The path segment '${segment}' is not valid percent-encoding.`);
  }
}

function listFilter(url: URL) {
  const statuses = url.searchParams.get('runtimeStatus');
  const runtimeStatus = statuses
    ? statuses.split(',').map((s) => {
        const match = STATUSES.find((known) => known.toLowerCase() === s.trim().toLowerCase());
        if (!match) throw new BadRequest(`runtimeStatus '${s}' is not one of ${STATUSES.join(', ')}.`);
        return match;
      })
    : undefined;
  return {
    createdTimeFrom: time(url, 'createdTimeFrom'),
    createdTimeTo: time(url, 'createdTimeTo'),
    runtimeStatus,
  };
}

function time(url: URL, name: string): number | undefined {
  const value = url.searchParams.get(name);
  if (value === null || value === '') return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new BadRequest(`${name} '${value}' is not a valid date and time (use ISO 8601).`);
  return ms;
}

function positiveInt(value: string, name: string, allowZero = false): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) throw new BadRequest(`${name} '${value}' must be a ${allowZero ? 'non-negative' : 'positive'} integer.`);
  return n;
}

function flag(url: URL, name: string): boolean {
  return (url.searchParams.get(name) ?? '').toLowerCase() === 'true';
}

function parseBody(body: Buffer): unknown {
  const text = body.toString('utf8').trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequest('The request body is not valid JSON.');
  }
}

function notAllowed(allow: string): ManagementResponse {
  return json(405, { message: `Method not allowed; use ${allow}.` }, { Allow: allow });
}

function empty(status: number): ManagementResponse {
  return { status, headers: {} };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): ManagementResponse {
  const text = JSON.stringify(body);
  return { status, headers: { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)) }, body: text };
}
