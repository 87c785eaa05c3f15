// What every API function shares: Batch-shaped errors (a 4xx for anything the caller got wrong,
// never a 5xx for bad input), bounded JSON bodies, and the services bound to this invocation.
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { BatchError, invalidRequestBody, isBatchError, requestBodyTooLarge } from '../shared/batch/index.js';
import { isQueueError, isStoreError } from '../shared/ports/errors.js';
import { appContext } from '../shared/app/context.js';
import { JOB_EVENT, JOB_ORCHESTRATOR, type JobOrchestrations } from '../shared/app/job-events.js';
import type { Services } from '../shared/app/job-service.js';
import { coalescingEnds, EndsCoalescer } from '../shared/app/ends-coalescer.js';

export const durableClientInput = df.input.durableClient();

/** Shared by every invocation in this process: ends of one job reported side by side go as one event. */
const endsCoalescer = new EndsCoalescer();

export interface ApiServices extends Services {
  baseUrl: string;
}

export type ApiHandler = (request: HttpRequest, context: InvocationContext, services: ApiServices) => Promise<HttpResponseInit>;

export function api(handler: ApiHandler) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    try {
      const services: ApiServices = {
        ctx: await appContext(),
        orchestrations: coalescingEnds(durableOrchestrations(lazyClient(context), context), endsCoalescer),
        baseUrl: apiBaseUrl(request),
      };
      return await handler(request, context, services);
    } catch (err) {
      return errorResponse(err, context);
    }
  };
}

export function errorResponse(err: unknown, context: InvocationContext): HttpResponseInit {
  if (isBatchError(err)) return { status: err.status, jsonBody: err.body };
  // The store or a queue failing past its client's retries: the caller's retry is the remedy.
  if (isStoreError(err, 'Throttled') || isStoreError(err, 'Unavailable') || isQueueError(err, 'Throttled') || isQueueError(err, 'Unavailable')) {
    const retryAfter = isStoreError(err) && err.retryAfterMs ? Math.ceil(err.retryAfterMs / 1000) : 1;
    return {
      status: 503,
      headers: { 'Retry-After': String(retryAfter) },
      jsonBody: new BatchError(503, 'ServerBusy', 'The server is busy; retry the request.').body,
    };
  }
  context.error(`Unhandled error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  return { status: 500, jsonBody: new BatchError(500, 'InternalError', 'The server encountered an internal error. Please retry the request.').body };
}

/** Reads a JSON body of at most maxBytes; returns the value and its size in bytes. */
export async function readJson(request: HttpRequest, maxBytes: number): Promise<{ body: unknown; bytes: number }> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw requestBodyTooLarge(`The request body is ${declared} bytes; at most ${maxBytes} are allowed.`);
  const buffer = Buffer.from(await request.arrayBuffer());
  if (buffer.length > maxBytes) throw requestBodyTooLarge(`The request body is ${buffer.length} bytes; at most ${maxBytes} are allowed.`);
  const text = buffer.toString('utf8').trim();
  if (!text) throw invalidRequestBody('The request body is empty; a JSON object is expected.');
  try {
    return { body: JSON.parse(text), bytes: buffer.length };
  } catch (err) {
    throw invalidRequestBody(`The request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** An optional JSON body (terminate takes one or none). */
export async function readOptionalJson(request: HttpRequest, maxBytes: number): Promise<unknown> {
  const buffer = Buffer.from(await request.arrayBuffer());
  if (buffer.length > maxBytes) throw requestBodyTooLarge(`The request body is ${buffer.length} bytes; at most ${maxBytes} are allowed.`);
  const text = buffer.toString('utf8').trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw invalidRequestBody(`The request body is not valid JSON: ${(err as Error).message}`);
  }
}

export function apiBaseUrl(request: HttpRequest): string {
  const url = new URL(request.url);
  return `${url.origin}/api`;
}

/** The last DurableClient made, with the binding data it was made from. */
let lastClient: { data: string; client: df.DurableClient } | undefined;

/**
 * The invocation's DurableClient, made when first used: making one validates its management URLs
 * and builds an HTTP client, which most agent calls (claims, heartbeats) never need. Invocations
 * whose binding data is the same (all of them, while the app's host and keys stay the same)
 * share one: a client keeps nothing of an invocation but that data.
 */
function lazyClient(context: InvocationContext): () => df.DurableClient {
  return () => {
    const data = JSON.stringify(context.extraInputs.get(durableClientInput) ?? null);
    if (lastClient?.data !== data) lastClient = { data, client: df.getClient(context) };
    return lastClient.client;
  };
}

function durableOrchestrations(client: () => df.DurableClient, context: InvocationContext): JobOrchestrations {
  return {
    async start(instanceId, input) {
      await client().startNew(JOB_ORCHESTRATOR, { instanceId, input });
    },
    async raise(instanceId, event) {
      try {
        await client().raiseEvent(instanceId, JOB_EVENT, event);
      } catch (err) {
        // The job's orchestration has ended: nothing is left to hear of this event.
        context.warn(`Event for ${instanceId} not delivered: ${(err as Error).message}`);
      }
    },
    async terminate(instanceId, reason) {
      try {
        await client().terminate(instanceId, reason);
      } catch {
        // Already finished or never started.
      }
    },
  };
}

export const MB = 1024 * 1024;
