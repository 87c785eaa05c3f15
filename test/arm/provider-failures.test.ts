// How the ARM scale-set provider copes with ARM failing: throttling, transient errors, conflicts,
// dropped connections, quota, failed long-running operations, and cancellation. Real client, fake
// server; retry waits are recorded rather than waited out.

import { afterEach, describe, expect, it } from 'vitest';
import { scaleSetName, ScaleSetError } from '../../shared/ports/scale-set-provider.js';
import { PREFIX, RESOURCE_GROUP, eventually, startArmHarness, type ArmHarness } from '../support/arm/provider-harness.js';

const dedicated = (pool: string) => scaleSetName(PREFIX, pool, 'dedicated');
const spec = (poolId: string) => ({ poolId, vmSize: 'Standard_D2s_v5', taskSlotsPerNode: 1 });
const onPatch = (call: { kind: string }) => call.kind === 'scaleSet.patch';

let h: ArmHarness;
afterEach(async () => {
  await h?.stop();
});

async function pool(options: Parameters<typeof startArmHarness>[0] = {}): Promise<ArmHarness> {
  h = await startArmHarness(options);
  await h.provider.ensurePool(spec('p'));
  return h;
}

async function failure(promise: Promise<unknown>): Promise<ScaleSetError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ScaleSetError);
  return err as ScaleSetError;
}

describe('retries', () => {
  it('waits out 429 Retry-After and then succeeds', async () => {
    await pool();
    h.server.throttleNext(2, 7);
    await h.provider.growTo('p', 'dedicated', 2);
    expect(h.server.capacity(RESOURCE_GROUP, dedicated('p'))).toBe(2);
    expect(h.sleeps).toEqual([7_000, 7_000]);
    expect(h.server.calls.filter((c) => c.status === 429)).toHaveLength(2);
  });

  it('retries transient 500s with exponential backoff and jitter, then succeeds', async () => {
    await pool();
    h.server.failNext(3, { status: 500, code: 'InternalServerError', message: 'An unexpected error occured while processing the request.' });
    await h.provider.growTo('p', 'dedicated', 1);
    expect(h.server.capacity(RESOURCE_GROUP, dedicated('p'))).toBe(1);
    // random() = 0.5: half the step plus a quarter of it; steps 100, 200, 400 (base 100 ms).
    expect(h.sleeps).toEqual([75, 150, 300]);
  });

  it('retries a 409 conflict (another operation in progress) and a dropped connection', async () => {
    await pool();
    h.server.failNext(1, { status: 409, code: 'Conflict', message: 'Operation is not allowed since a previous operation is in progress.', match: onPatch });
    h.server.dropNextConnections(1);
    await h.provider.growTo('p', 'dedicated', 2);
    expect(h.server.capacity(RESOURCE_GROUP, dedicated('p'))).toBe(2);
    expect(h.sleeps).toHaveLength(2);
    expect(h.server.calls.some((c) => c.status === -1)).toBe(true);
  });

  it('gives up after maxAttempts on persistent 5xx with a message for resizeErrors', async () => {
    await pool();
    h.server.failNext(10, { status: 503, code: 'ServiceUnavailable', message: 'The service is temporarily unavailable.' });
    const err = await failure(h.provider.growTo('p', 'dedicated', 4));
    expect(err.code).toBe('Failed');
    expect(err.message).toBe(
      `Could not grow scale set '${dedicated('p')}' of pool 'p' to 4 dedicated nodes: gave up after 4 attempts; ` +
        'last error: ServiceUnavailable (HTTP 503): The service is temporarily unavailable.',
    );
    expect(h.server.calls.filter((c) => c.status === 503)).toHaveLength(4);
    expect(h.server.capacity(RESOURCE_GROUP, dedicated('p'))).toBe(0);
  });

  it('ends as Throttled with retryAfterMs when throttling persists or asks for too long a wait', async () => {
    await pool();
    h.server.throttleNext(4, 1);
    const persistent = await failure(h.provider.growTo('p', 'dedicated', 1));
    expect(persistent.code).toBe('Throttled');
    expect(persistent.retryAfterMs).toBe(1_000);

    h.sleeps.length = 0;
    h.server.throttleNext(1, 3_600);
    const long = await failure(h.provider.growTo('p', 'dedicated', 1));
    expect(long.code).toBe('Throttled');
    expect(long.retryAfterMs).toBe(3_600_000);
    expect(long.message).toContain('asked to wait 3600 s');
    expect(h.sleeps).toEqual([]);
  });

  it('fails at once on a 4xx other than 429 and 409', async () => {
    await pool();
    h.server.failNext(1, { status: 400, code: 'InvalidParameter', message: "The value of parameter sku.capacity is invalid.", match: onPatch });
    const err = await failure(h.provider.growTo('p', 'dedicated', 1));
    expect(err.code).toBe('Failed');
    expect(err.message).toContain("InvalidParameter (HTTP 400): The value of parameter sku.capacity is invalid.");
    expect(h.sleeps).toEqual([]);
    expect(h.server.callsOf('scaleSet.patch')).toHaveLength(1);
  });
});

describe('quota and failed operations', () => {
  it('reports exceeded quota as QuotaExceeded without retrying', async () => {
    await pool();
    h.server.vmQuota = 3;
    const err = await failure(h.provider.growTo('p', 'dedicated', 5));
    expect(err.code).toBe('QuotaExceeded');
    expect(err.message).toContain('OperationNotAllowed (HTTP 409)');
    expect(err.message).toContain('exceeding approved Total Regional Cores quota');
    expect(h.server.callsOf('scaleSet.patch')).toHaveLength(1);
    expect(h.sleeps).toEqual([]);
  });

  it('reports an update that ends Failed with a quota error as QuotaExceeded, capacity unchanged', async () => {
    await pool();
    h.server.failNextOperation({
      code: 'OperationNotAllowed',
      message: 'Operation could not be completed as it results in exceeding approved standardDSv5Family Cores quota.',
    });
    const err = await failure(h.provider.growTo('p', 'dedicated', 2));
    expect(err.code).toBe('QuotaExceeded');
    expect(err.message).toContain('the operation ended Failed: OperationNotAllowed');
    expect(h.server.capacity(RESOURCE_GROUP, dedicated('p'))).toBe(0);
    expect(h.server.callsOf('scaleSet.patch')).toHaveLength(1);
  });

  it('reports other failed operations as Failed naming the ARM error', async () => {
    await pool();
    h.server.failNextOperation({ code: 'AllocationFailed', message: 'Allocation failed. We do not have sufficient capacity for the requested VM size in this region.' });
    const err = await failure(h.provider.growTo('p', 'lowPriority', 2));
    expect(err.code).toBe('Failed');
    expect(err.message).toContain('AllocationFailed');
    expect(err.message).toContain('sufficient capacity');
    expect(h.server.capacity(RESOURCE_GROUP, scaleSetName(PREFIX, 'p', 'lowPriority'))).toBe(0);
  });

  it('retries an operation that failed for a transient platform reason', async () => {
    await pool();
    h.server.failNextOperation({ code: 'InternalExecutionError', message: 'An internal execution error occurred.' });
    await h.provider.growTo('p', 'dedicated', 2);
    expect(h.server.capacity(RESOURCE_GROUP, dedicated('p'))).toBe(2);
    expect(h.server.callsOf('scaleSet.patch')).toHaveLength(2);
  });
});

describe('cancellation', () => {
  it('cancels an in-flight call', async () => {
    await pool();
    h.server.stallNext(1);
    const controller = new AbortController();
    const grow = h.provider.growTo('p', 'dedicated', 1, controller.signal);
    await eventually(() => h.server.calls.some((c) => c.status === -2));
    controller.abort();
    const err = await failure(grow);
    expect(err.code).toBe('Canceled');
    expect(err.message).toContain(dedicated('p'));
  });

  it('cancels while a long-running operation is being polled', async () => {
    await pool();
    h.server.lroPolls = 1_000_000; // the update never finishes on its own
    const controller = new AbortController();
    const grow = h.provider.growTo('p', 'dedicated', 1, controller.signal);
    await eventually(() => h.server.callsOf('operation.status').length >= 3);
    controller.abort();
    expect((await failure(grow)).code).toBe('Canceled');
  }, 30_000);

  it('cancels the wait between attempts', async () => {
    await pool({ realSleepMs: () => 60_000 });
    h.server.failNext(1, { status: 500, code: 'InternalServerError', message: 'boom', match: onPatch });
    const controller = new AbortController();
    const started = Date.now();
    const grow = h.provider.growTo('p', 'dedicated', 1, controller.signal);
    await eventually(() => h.sleeps.length === 1);
    controller.abort();
    expect((await failure(grow)).code).toBe('Canceled');
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('does not call ARM at all with a signal that already fired', async () => {
    await pool();
    const before = h.server.calls.length;
    const nodes = await h.provider.listNodes('p');
    expect(nodes).toEqual([]);
    const afterList = h.server.calls.length;
    expect(afterList).toBeGreaterThan(before);
    const err = await failure(h.provider.deleteNodes('p', ['x'], AbortSignal.abort()));
    expect(err.code).toBe('Canceled');
    expect(h.server.calls.length).toBe(afterList);
  });
});
