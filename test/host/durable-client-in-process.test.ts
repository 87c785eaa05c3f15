// The app's DurableClient calls reach the host's management API in process: the same answers as
// over HTTP, with no HTTP request. Everything else the durable-functions package's axios sends
// still goes over HTTP.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, type RunningHost } from '../../local-host/host.js';
import { fixtureDir } from '../support/fixture-app.js';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
let host: RunningHost;
const served: string[] = [];
const onRequest = (message: unknown) => served.push(String((message as { request: { url?: string } }).request.url));

beforeAll(async () => {
  host = await startHost({ appDir: fixtureDir('durable-app'), port: 0, inMemory: true, log: quiet });
  subscribe('http.server.request.start', onRequest);
});
afterAll(async () => {
  unsubscribe('http.server.request.start', onRequest);
  await host?.stop();
});

const api = (p: string) => `${host.baseUrl}/api/${p}`;
const webhookRequests = () => served.filter((url) => url.startsWith('/runtime/webhooks/'));

/** The axios copy the app's durable-functions package sends its calls with. */
function durableFunctionsAxios(): { get(url: string): Promise<{ status: number; data: unknown }>; post(url: string, body?: string): Promise<{ status: number; data: unknown }> } {
  const require = createRequire(path.join(fixtureDir('durable-app'), 'package.json'));
  const loaded = require(require.resolve('axios', { paths: [path.dirname(require.resolve('durable-functions'))] }));
  return loaded.default ?? loaded;
}

async function waitUntil(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition never held');
}

describe("the app's DurableClient on the local host", () => {
  it('starts, raises and reads status without an HTTP request to the webhooks', async () => {
    served.length = 0;
    const started = await fetch(api('orchestrators/timerVsEvent'), { method: 'POST', body: JSON.stringify({ timeoutMs: 60_000 }) });
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as { id: string };
    const status = async () => ((await (await fetch(api(`ops/${id}/status`))).json()) as { runtimeStatus: string; output?: unknown });
    await waitUntil(async () => (await status()).runtimeStatus === 'Running');
    expect((await fetch(api(`ops/${id}/raise`), { method: 'POST', body: JSON.stringify({ by: 'in-process' }) })).status).toBe(202);
    await waitUntil(async () => (await status()).runtimeStatus === 'Completed');
    expect((await status()).output).toEqual({ outcome: 'event', value: { by: 'in-process' } });

    expect(served.filter((url) => url.startsWith('/api/ops/')).length).toBeGreaterThan(2);
    expect(webhookRequests()).toEqual([]);
  });

  it('gives the client the errors HTTP would: raising to an unknown instance fails the call', async () => {
    served.length = 0;
    const res = await fetch(api('ops/no-such-instance/raise'), { method: 'POST', body: '{}' });
    expect(res.status).toBe(500);
    expect(webhookRequests()).toEqual([]);
  });

  it('checks the key, answers the status codes and JSON of the HTTP API, and leaves other URLs to HTTP', async () => {
    const axios = durableFunctionsAxios();
    const webhook = `${host.baseUrl}/runtime/webhooks/durabletask`;
    served.length = 0;

    const wrongKey = await axios.get(`${webhook}/instances/?code=not-the-key`).catch((error: { response?: { status: number } }) => error.response);
    expect(wrongKey?.status).toBe(401);
    const missing = await axios.get(`${webhook}/instances/no-such?code=${host.keys.masterKey}`).catch((error: { response?: { status: number; data: unknown } }) => error.response);
    expect(missing?.status).toBe(404);
    expect(missing?.data).toEqual({ message: "No instance with ID 'no-such' was found." });
    const created = await axios.post(`${webhook}/orchestrators/sequence/in-process-1?code=${host.keys.masterKey}`);
    expect(created.status).toBe(202);
    expect(created.data).toMatchObject({ id: 'in-process-1', statusQueryGetUri: expect.stringContaining(`${webhook}/instances/in-process-1`) });
    expect(webhookRequests()).toEqual([]);

    const elsewhere = await axios.get(api('ops/in-process-1/status'));
    expect(elsewhere.status).toBe(200);
    expect(served).toContain('/api/ops/in-process-1/status');
  });
});
