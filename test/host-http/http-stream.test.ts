// HTTP streaming end to end with the real library: app.setup({ enableHttpStream: true }) makes
// the library start its own proxy (capability HttpUri); the front door forwards each request
// there, tagged with the invocation id, while the invocation runs.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostLog } from '../../local-host/contracts.js';
import { startHttpServer, type RunningHttpServer } from '../../local-host/http/http-server.js';
import { createHostKeys } from '../../local-host/http/keys.js';
import { send } from './support/http-client.js';
import { loadFunctionsLibrary, type LibraryHarness } from './support/library-harness.js';

const keys = createHostKeys('function-key-0123456789abcdef', 'master-key-0123456789abcdef');
const errors: string[] = [];
const log: HostLog = { info: () => undefined, warn: () => undefined, error: (m) => errors.push(m) };

let harness: LibraryHarness;
let server: RunningHttpServer;
let httpUri: string;

beforeAll(async () => {
  harness = loadFunctionsLibrary();
  const { app } = harness.lib;
  app.setup({ enableHttpStream: true });

  app.http('upload', {
    methods: ['POST'],
    route: 'upload/{name}',
    authLevel: 'function',
    handler: async (req) => {
      // Read the body as a stream, chunk by chunk, as streaming apps do.
      let total = 0;
      const chunks: Buffer[] = [];
      for await (const chunk of req.body!) {
        total += (chunk as Uint8Array).length;
        chunks.push(Buffer.from(chunk as Uint8Array));
      }
      const echoed = Buffer.concat(chunks);
      return {
        status: 207,
        headers: { 'x-name': req.params.name ?? '', 'x-total': String(total), 'content-type': 'application/octet-stream' },
        cookies: [{ name: 'c', value: 'v', httpOnly: true }],
        body: echoed,
      };
    },
  });

  app.get('streamFails', {
    authLevel: 'anonymous',
    handler: async () => {
      throw new Error('stream secret detail');
    },
  });

  app.get('streamSilent', { authLevel: 'anonymous', handler: async () => undefined as never });

  httpUri = (await harness.capabilities()).HttpUri!;
  server = await startHttpServer({
    port: 0,
    routePrefix: 'api',
    functions: harness.functions(),
    invoke: harness.invoke,
    invokeWithId: harness.invokeWithId,
    httpStreamProxyUri: httpUri,
    keys,
    log,
    maxBodyBytes: 1024 * 1024,
    streamResponseGraceMs: 300,
  });
});

afterAll(async () => {
  await server?.close();
});

describe('HTTP streaming through the library proxy', () => {
  it('the library reports its proxy address', () => {
    expect(httpUri).toMatch(/^http:\/\/localhost:\d+\/$/);
  });

  it('streams the request body to the function and its response back', async () => {
    const payload = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7) % 256));
    const res = await send(`${server.baseUrl}/api/upload/f%20one`, {
      method: 'POST',
      headers: { 'x-functions-key': keys.functionKey },
      body: payload,
      chunked: true,
    });
    expect(res.status).toBe(207);
    expect(res.headers['x-name']).toBe('f one');
    expect(res.headers['x-total']).toBe(String(payload.length));
    expect(res.headers['x-ms-invocation-id']).toBeUndefined();
    // In streaming mode the library writes Set-Cookie itself; the front door passes it through.
    expect(res.headers['set-cookie']).toEqual(['c=v; HttpOnly']);
    expect(res.body.equals(payload)).toBe(true);
  });

  it('still enforces keys and routes before forwarding', async () => {
    expect((await send(`${server.baseUrl}/api/upload/x`, { method: 'POST', body: 'x' })).status).toBe(401);
    expect((await send(`${server.baseUrl}/api/none`)).status).toBe(404);
  });

  it('answers 500 without the error text when the streamed function throws', async () => {
    const res = await send(`${server.baseUrl}/api/streamFails`);
    expect(res.status).toBe(500);
    expect(res.body.length).toBe(0);
    expect(errors.some((e) => e.includes('stream secret detail'))).toBe(true);
  });

  it('answers 200 with an empty body when the streamed function returns nothing', async () => {
    const res = await send(`${server.baseUrl}/api/streamSilent`);
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(0);
  });

  it('answers 413 for a declared body over the limit', async () => {
    const res = await send(`${server.baseUrl}/api/upload/big`, {
      method: 'POST',
      headers: { 'x-functions-key': keys.functionKey },
      body: Buffer.alloc(1024 * 1024 + 1),
    });
    expect(res.status).toBe(413);
  });
});
