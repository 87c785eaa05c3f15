// End to end through the real @azure/functions library: functions registered with app.http(...),
// requests mapped by the front door into RPC, turned into HttpRequest objects by the library,
// and the library's HttpResponse converted back (toRpcHttp) and written by the front door.

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

beforeAll(async () => {
  harness = loadFunctionsLibrary();
  const { app, HttpResponse } = harness.lib;

  app.http('echo', {
    methods: ['POST', 'GET'],
    route: 'jobs/{jobId}/echo/{n:int?}',
    authLevel: 'function',
    handler: async (req) => {
      const body = Buffer.from(await req.arrayBuffer());
      return new HttpResponse({
        status: 201,
        headers: { 'content-type': req.headers.get('content-type') ?? 'application/octet-stream', 'x-echo': 'yes' },
        cookies: [
          { name: 'visited', value: 'a b', httpOnly: true, sameSite: 'Lax', maxAge: 60 },
          { name: 'gone', value: '', expires: new Date(Date.UTC(2001, 0, 2, 3, 4, 5)), sameSite: 'None', secure: true },
        ],
        body,
      });
    },
  });

  app.http('inspect', {
    methods: ['GET'],
    route: 'inspect/{*rest}',
    authLevel: 'anonymous',
    handler: async (req) => ({
      jsonBody: {
        method: req.method,
        url: req.url,
        params: req.params,
        q: req.query.get('q'),
        multi: req.query.get('multi'),
        header: req.headers.get('x-test'),
      },
    }),
  });

  app.http('json', {
    methods: ['PUT'],
    authLevel: 'anonymous',
    handler: async (req) => {
      const received = (await req.json()) as { n: number };
      return { jsonBody: { doubled: received.n * 2 } };
    },
  });

  app.get('silent', { authLevel: 'anonymous', handler: async () => undefined as never });

  app.get('fails', {
    authLevel: 'anonymous',
    handler: async () => {
      throw new Error('internal detail: connection string xyz');
    },
  });

  server = await startHttpServer({
    port: 0,
    routePrefix: 'api',
    functions: harness.functions(),
    invoke: harness.invoke,
    keys,
    log,
  });
});

afterAll(async () => {
  await server?.close();
});

describe('front door with the real @azure/functions library', () => {
  it('registers what app.http declares, with the library defaults', () => {
    const names = harness.functions().map((f) => f.name);
    expect(names).toEqual(['echo', 'inspect', 'json', 'silent', 'fails']);
  });

  it('round-trips a binary body, status, headers and cookies byte for byte', async () => {
    const payload = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) % 256));
    const res = await send(`${server.baseUrl}/api/jobs/j-1/echo/3`, {
      method: 'POST',
      headers: { 'x-functions-key': keys.functionKey, 'content-type': 'application/x-custom' },
      body: payload,
    });
    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toBe('application/x-custom');
    expect(res.headers['x-echo']).toBe('yes');
    expect(res.body.equals(payload)).toBe(true);
    expect(res.headers['set-cookie']).toEqual([
      'visited=a%20b; max-age=60; path=/; samesite=lax; httponly',
      'gone=; expires=Tue, 02 Jan 2001 03:04:05 GMT; path=/; secure; samesite=none',
    ]);
  });

  it('accepts a chunked upload (transfer-encoding header and all) through the library', async () => {
    const payload = Buffer.from('chunk '.repeat(1000));
    const res = await send(`${server.baseUrl}/api/jobs/j-2/echo`, {
      method: 'POST',
      headers: { 'x-functions-key': keys.functionKey, 'content-type': 'text/plain' },
      body: payload,
      chunked: true,
    });
    expect(res.status).toBe(201);
    expect(res.body.equals(payload)).toBe(true);
  });

  it('enforces the function key the app declared', async () => {
    const res = await send(`${server.baseUrl}/api/jobs/j-1/echo`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(401);
  });

  it('gives the function the URL, params, query and headers the host would', async () => {
    const path = '/api/inspect/a/b%20c?q=one&multi=1&multi=2';
    const res = await send(server.baseUrl + path, { headers: { 'x-test': 'hello' } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.body.toString('utf8'))).toEqual({
      method: 'GET',
      url: server.baseUrl + path,
      params: { rest: 'a/b c' },
      q: 'one',
      multi: '1,2',
      header: 'hello',
    });
  });

  it('parses a JSON request body and writes a JSON response', async () => {
    const res = await send(`${server.baseUrl}/api/json`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n: 21 }),
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString('utf8'))).toEqual({ doubled: 42 });
  });

  it('answers 200 with an empty body when the handler returns nothing', async () => {
    const res = await send(`${server.baseUrl}/api/silent`);
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(0);
  });

  it('answers 500 without the error text when the handler throws', async () => {
    const res = await send(`${server.baseUrl}/api/fails`);
    expect(res.status).toBe(500);
    expect(res.body.length).toBe(0);
    expect(errors.some((e) => e.includes('connection string xyz'))).toBe(true);
  });

  it('does not serve a method the function did not declare', async () => {
    expect((await send(`${server.baseUrl}/api/silent`, { method: 'POST', body: 'x' })).status).toBe(404);
  });
});
