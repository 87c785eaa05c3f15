import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, type RunningHost } from '../../local-host/host.js';
import { fixtureDir } from '../support/fixture-app.js';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
let host: RunningHost;

beforeAll(async () => {
  host = await startHost({ appDir: fixtureDir('durable-app'), port: 0, inMemory: true, log: quiet });
});
afterAll(async () => host?.stop());

const api = (path: string) => `${host.baseUrl}/api/${path}`;
const mgmt = (path: string, key = host.keys.masterKey) =>
  `${host.baseUrl}/runtime/webhooks/durabletask/${path}${path.includes('?') ? '&' : '?'}code=${key}`;

async function start(name: string, input?: unknown) {
  const res = await fetch(api(`orchestrators/${name}`), {
    method: 'POST',
    body: input === undefined ? undefined : JSON.stringify(input),
  });
  expect(res.status).toBe(202);
  const payload = (await res.json()) as Record<string, string>;
  expect(res.headers.get('location')).toBe(payload.statusQueryGetUri);
  return payload;
}

/** Polls the status URL that createCheckStatusResponse handed out, as a client would. */
async function waitForStatus(statusUrl: string, done = (s: string) => ['Completed', 'Failed', 'Terminated'].includes(s)) {
  for (let i = 0; i < 600; i++) {
    const res = await fetch(statusUrl);
    const body = (await res.json()) as { runtimeStatus: string; output: unknown };
    if (done(body.runtimeStatus)) return { status: res.status, body };
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`instance never finished: ${statusUrl}`);
}

async function op(instanceId: string, name: string, body?: unknown) {
  return fetch(api(`ops/${instanceId}/${name}`), { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body) });
}

describe('Durable Functions through the HTTP host and the unmodified DurableClient', () => {
  it('starts with createCheckStatusResponse URLs that resolve to the host', async () => {
    const payload = await start('fanOutFanIn', 100);
    expect(payload.statusQueryGetUri).toContain(`${host.baseUrl}/runtime/webhooks/durabletask/instances/${payload.id}`);
    const { status, body } = await waitForStatus(payload.statusQueryGetUri!);
    expect(status).toBe(200);
    expect(body.output).toBe(9900);
  });

  it('reads status through DurableClient.getStatus and history through the status URL', async () => {
    const payload = await start('sequence');
    await waitForStatus(payload.statusQueryGetUri!);
    const res = await fetch(api(`ops/${payload.id}/status`));
    const status = (await res.json()) as { runtimeStatus: string; output: string; customStatus: unknown };
    expect(status).toMatchObject({ runtimeStatus: 'Completed', output: 'abc', customStatus: { step: 2 } });
    const withHistory = await fetch(`${payload.statusQueryGetUri}&showHistory=true&showHistoryOutput=true`);
    const history = ((await withHistory.json()) as { historyEvents: { EventType: string; FunctionName?: string; Result?: unknown }[] }).historyEvents;
    expect(history.filter((e) => e.EventType === 'TaskCompleted').map((e) => [e.FunctionName, e.Result])).toEqual([
      ['echo', 'a'],
      ['echo', 'ab'],
      ['echo', 'abc'],
    ]);
  });

  it('raises an event through the client: the event beats the timer', async () => {
    const payload = await start('timerVsEvent', { timeoutMs: 60_000 });
    await waitForStatus(payload.statusQueryGetUri!, (s) => s === 'Running');
    expect((await op(payload.id!, 'raise', { by: 'bob' })).status).toBe(202);
    const { body } = await waitForStatus(payload.statusQueryGetUri!);
    expect(body.output).toEqual({ outcome: 'event', value: { by: 'bob' } });
  });

  it('lets the timer win when no event comes', async () => {
    const payload = await start('timerVsEvent', { timeoutMs: 30 });
    const { body } = await waitForStatus(payload.statusQueryGetUri!);
    expect(body.output).toEqual({ outcome: 'timer' });
  });

  it('retries activities, and runs sub-orchestrations that fail and succeed', async () => {
    const retried = await start('retrying', { key: 'http-retry', failTimes: 1, maxAttempts: 3 });
    const okChild = await start('parent', { value: 1 });
    const badChild = await start('parent', { value: 2, fail: true });
    expect((await waitForStatus(retried.statusQueryGetUri!)).body.output).toEqual({ ok: true, result: 'ok after 2' });
    expect((await waitForStatus(okChild.statusQueryGetUri!)).body.output).toEqual({ ok: true, result: 'child saw 1' });
    expect((await waitForStatus(badChild.statusQueryGetUri!)).body.output).toMatchObject({ ok: false });
  });

  it('carries state across continueAsNew', async () => {
    const payload = await start('counter', { remaining: 3, total: 0 });
    expect((await waitForStatus(payload.statusQueryGetUri!)).body.output).toBe(12);
  });

  it('terminates during a fan-out, suspends and resumes, and purges', async () => {
    const fan = await start('slowFanOut', { count: 100, ms: 50 });
    await waitForStatus(fan.statusQueryGetUri!, (s) => s === 'Running');
    expect((await op(fan.id!, 'terminate')).status).toBe(202);
    const terminated = await waitForStatus(fan.statusQueryGetUri!);
    expect(terminated.status).toBe(400);
    expect(terminated.body.runtimeStatus).toBe('Terminated');

    const held = await start('timerVsEvent', { timeoutMs: 60_000 });
    await waitForStatus(held.statusQueryGetUri!, (s) => s === 'Running');
    expect((await op(held.id!, 'suspend')).status).toBe(202);
    await waitForStatus(held.statusQueryGetUri!, (s) => s === 'Suspended');
    await op(held.id!, 'raise', 'while-suspended');
    expect((await op(held.id!, 'resume')).status).toBe(202);
    expect((await waitForStatus(held.statusQueryGetUri!)).body.output).toEqual({ outcome: 'event', value: 'while-suspended' });

    const purged = (await (await op(held.id!, 'purge')).json()) as { instancesDeleted: number };
    expect(purged.instancesDeleted).toBe(1);
    expect((await fetch(held.statusQueryGetUri!)).status).toBe(404);
  });

  it('fails a non-deterministic orchestrator with a clear error', async () => {
    const payload = await start('nonDeterministic');
    const { status, body } = await waitForStatus(payload.statusQueryGetUri!);
    expect(status).toBe(400);
    expect(body.runtimeStatus).toBe('Failed');
    expect(String(body.output)).toMatch(/Non-deterministic orchestrator 'nonDeterministic'.*step 1/);
  });
});

describe('the management API rejects bad requests with a clear 4xx', () => {
  it('requires the system or master key', async () => {
    const res = await fetch(`${host.baseUrl}/runtime/webhooks/durabletask/instances/`);
    expect(res.status).toBe(401);
    const wrong = await fetch(mgmt('instances/', 'not-the-key'));
    expect(wrong.status).toBe(401);
  });

  it.each([
    ['POST', 'orchestrators/noSuchOrchestrator', undefined, 400, /doesn't exist/],
    ['POST', 'orchestrators/sequence', '{not json', 400, /not valid JSON/],
    ['GET', 'instances/?createdTimeFrom=yesterday', undefined, 400, /createdTimeFrom/],
    ['GET', 'instances/?runtimeStatus=Sleeping', undefined, 400, /runtimeStatus 'Sleeping'/],
    ['GET', 'instances/?top=-3', undefined, 400, /top/],
    ['GET', 'instances/no-such-instance', undefined, 404, /No instance/],
    ['POST', 'instances/no-such-instance/terminate', undefined, 404, /No instance/],
    ['POST', 'instances/no-such-instance/raiseEvent/x', '1', 404, /No instance/],
    ['PUT', 'instances/abc', undefined, 405, /Method not allowed/],
    ['GET', 'instances/%E0%A4%A', undefined, 400, /percent-encoding/],
    ['GET', 'elsewhere', undefined, 404, /No management API/],
  ] as const)('%s %s', async (method, path, body, status, message) => {
    const res = await fetch(mgmt(path), { method, body });
    expect(res.status).toBe(status);
    expect(JSON.stringify(await res.json())).toMatch(message);
  });

  it('answers 409 for a duplicate running instance id and 410 for events to a finished one', async () => {
    const first = await fetch(mgmt('orchestrators/waitForever/dup-1'), { method: 'POST' });
    expect(first.status).toBe(202);
    const again = await fetch(mgmt('orchestrators/waitForever/dup-1'), { method: 'POST' });
    expect(again.status).toBe(409);
    expect((await fetch(mgmt('instances/dup-1/terminate?reason=done'), { method: 'POST' })).status).toBe(202);
    await waitForStatus(mgmt('instances/dup-1'));
    expect((await fetch(mgmt('instances/dup-1/raiseEvent/late'), { method: 'POST', body: '1' })).status).toBe(410);
  });

  it('lists with filters and pages with a continuation token', async () => {
    for (let i = 0; i < 3; i++) await fetch(mgmt(`orchestrators/sequence/page-${i}`), { method: 'POST' });
    const page = await fetch(mgmt('instances/?top=2&runtimeStatus=Completed,Running,Pending'));
    expect(page.status).toBe(200);
    expect(((await page.json()) as unknown[]).length).toBe(2);
    const token = page.headers.get('x-ms-continuation-token');
    expect(token).toBeTruthy();
    const next = await fetch(mgmt('instances/?top=2&runtimeStatus=Completed,Running,Pending'), { headers: { 'x-ms-continuation-token': token! } });
    expect(((await next.json()) as unknown[]).length).toBeGreaterThan(0);
  });
});
