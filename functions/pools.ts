// Batch's pool API: add, list, get, resize, stop resize, delete, list nodes, and autoscale
// (enable, evaluate, disable).
import { app } from '@azure/functions';
import { createPool, deletePool, getPool, listNodes, listPools, reconcilePool, resizePool, stopResize } from '../shared/app/pool-service.js';
import { nodeResource, poolResource } from '../shared/app/representation.js';
import { disableAutoScale, enableAutoScale, evaluateAutoScale, runAutoScale } from '../shared/app/autoscale-service.js';
import { api, MB, readJson } from './http-kit.js';
import { durableClientInput } from './http-kit.js';

const extraInputs = [durableClientInput];

/** Start converging now instead of at the next maintenance tick; the tick retries failures. */
function reconcileSoon(ctx: Parameters<typeof reconcilePool>[0], poolId: string, log: (m: string) => void) {
  reconcilePool(ctx, poolId).catch((err) => log(`reconcile ${poolId}: ${(err as Error).message}`));
}

app.http('poolsAdd', {
  route: 'pools',
  methods: ['POST'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, context, s) => {
    const { body } = await readJson(request, MB);
    const pool = await createPool(s.ctx, body);
    // Batch evaluates an autoscaled pool's formula when the pool is created.
    if (pool.item.enableAutoScale) await runAutoScale(s.ctx, pool.item.poolId);
    reconcileSoon(s.ctx, pool.item.poolId, (m) => context.warn(m));
    const url = `${s.baseUrl}/pools/${encodeURIComponent(pool.item.poolId)}`;
    return { status: 201, headers: { Location: url, ETag: pool.etag, DataServiceId: url } };
  }),
});

app.http('poolsList', {
  route: 'pools',
  methods: ['GET'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (_request, _context, s) => ({ jsonBody: { value: (await listPools(s.ctx)).map((p) => poolResource(s.baseUrl, p)) } })),
});

app.http('poolsGet', {
  route: 'pools/{poolId}',
  methods: ['GET'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    const pool = await getPool(s.ctx, request.params.poolId!);
    return { headers: { ETag: pool.etag }, jsonBody: poolResource(s.baseUrl, pool) };
  }),
});

app.http('poolsResize', {
  route: 'pools/{poolId}/resize',
  methods: ['POST'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, context, s) => {
    const { body } = await readJson(request, MB);
    await resizePool(s.ctx, request.params.poolId!, body);
    reconcileSoon(s.ctx, request.params.poolId!, (m) => context.warn(m));
    return { status: 202 };
  }),
});

app.http('poolsStopResize', {
  route: 'pools/{poolId}/stopresize',
  methods: ['POST'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    await stopResize(s.ctx, request.params.poolId!);
    return { status: 202 };
  }),
});

app.http('poolsDelete', {
  route: 'pools/{poolId}',
  methods: ['DELETE'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    await deletePool(s.ctx, request.params.poolId!);
    return { status: 202 };
  }),
});

app.http('poolsNodes', {
  route: 'pools/{poolId}/nodes',
  methods: ['GET'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => ({
    jsonBody: { value: (await listNodes(s.ctx, request.params.poolId!)).map((n) => nodeResource(s.baseUrl, request.params.poolId!, n)) },
  })),
});

app.http('poolsEnableAutoScale', {
  route: 'pools/{poolId}/enableautoscale',
  methods: ['POST'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, context, s) => {
    const { body } = await readJson(request, MB);
    const pool = await enableAutoScale(s.ctx, request.params.poolId!, body);
    reconcileSoon(s.ctx, pool.item.poolId, (m) => context.warn(m));
    const url = `${s.baseUrl}/pools/${encodeURIComponent(pool.item.poolId)}`;
    return { status: 200, headers: { ETag: pool.etag, DataServiceId: url } };
  }),
});

app.http('poolsEvaluateAutoScale', {
  route: 'pools/{poolId}/evaluateautoscale',
  methods: ['POST'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    const { body } = await readJson(request, MB);
    return { jsonBody: await evaluateAutoScale(s.ctx, request.params.poolId!, body) };
  }),
});

app.http('poolsDisableAutoScale', {
  route: 'pools/{poolId}/disableautoscale',
  methods: ['POST'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    const pool = await disableAutoScale(s.ctx, request.params.poolId!);
    const url = `${s.baseUrl}/pools/${encodeURIComponent(pool.item.poolId)}`;
    return { status: 200, headers: { ETag: pool.etag, DataServiceId: url } };
  }),
});
