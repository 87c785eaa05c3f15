import { afterEach, describe, expect, it } from 'vitest';
import type {
  HostLog,
  InvokeRequest,
  InvokeResult,
  Invoker,
  RegisteredFunction,
  RpcBindingInfo,
} from '../../local-host/contracts.js';
import { startHttpServer, type ExtraRoute, type RunningHttpServer } from '../../local-host/http/http-server.js';
import { createHostKeys } from '../../local-host/http/keys.js';
import { send } from './support/http-client.js';

const keys = createHostKeys('function-key-0123456789abcdef', 'master-key-0123456789abcdef');

function httpFunction(
  name: string,
  trigger: Record<string, unknown>,
  outputs: Record<string, RpcBindingInfo> = { $return: { type: 'http', direction: 'out' } },
): RegisteredFunction {
  const triggerBinding = { type: 'httpTrigger', direction: 'in' as const, authLevel: 'anonymous', ...trigger };
  return {
    name,
    metadata: { name, bindings: { req: triggerBinding, ...outputs } },
    triggerName: 'req',
    trigger: triggerBinding,
    handler: () => undefined,
  };
}

function recordingLog(): HostLog & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };
}

interface Recorded {
  fn: RegisteredFunction;
  request: InvokeRequest;
}

let server: RunningHttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(
  functions: RegisteredFunction[],
  respond: (fn: RegisteredFunction, request: InvokeRequest) => Promise<InvokeResult> | InvokeResult = () => ({
    returnValue: { http: { statusCode: '200', body: { string: 'ok' } } },
    outputs: {},
  }),
  extra: { extraRoutes?: ExtraRoute[]; maxBodyBytes?: number; routePrefix?: string } = {},
) {
  const calls: Recorded[] = [];
  const log = recordingLog();
  const invoke: Invoker = async (fn, request) => {
    calls.push({ fn, request });
    return respond(fn, request);
  };
  server = await startHttpServer({
    port: 0,
    routePrefix: extra.routePrefix ?? 'api',
    functions,
    invoke,
    keys,
    log,
    extraRoutes: extra.extraRoutes,
    maxBodyBytes: extra.maxBodyBytes,
  });
  return { calls, log, base: server.baseUrl };
}

const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

describe('HTTP server: request mapping', () => {
  it('maps method, URL, route params, query, headers and raw body into the RPC http data', async () => {
    const { calls, base } = await start([
      httpFunction('tasks', { route: 'jobs/{jobId}/tasks/{taskId:int}', methods: ['post'] }),
    ]);
    const path = '/api/Jobs/j%201/tasks/7?x=1&x=2&empty=&Y=caf%C3%A9';
    const res = await send(base + path, {
      method: 'POST',
      headers: { 'X-Multi': ['a', 'b'], 'Content-Type': 'application/octet-stream' },
      body: allBytes,
    });
    expect(res.status).toBe(200);
    expect(calls).toHaveLength(1);
    const http = calls[0]!.request.triggerData.http!;
    expect(calls[0]!.fn.name).toBe('tasks');
    expect(http.method).toBe('POST');
    expect(http.url).toBe(base + path);
    expect(http.params).toEqual({ jobId: 'j 1', taskId: '7' });
    expect(http.query).toEqual({ x: '1,2', empty: '', Y: 'café' });
    expect(http.headers!['x-multi']).toBe('a, b');
    expect(http.headers!['content-type']).toBe('application/octet-stream');
    expect(http.headers!['content-length']).toBe('256');
    expect(Object.keys(http.headers!).every((k) => k === k.toLowerCase())).toBe(true);
    expect(Buffer.from(http.body!.bytes!).equals(allBytes)).toBe(true);

    const metadata = calls[0]!.request.triggerMetadata!;
    expect(metadata.jobId).toEqual({ string: 'j 1' });
    expect(metadata.taskId).toEqual({ string: '7' });
    expect(JSON.parse(metadata.Query!.json!)).toEqual(http.query);
    expect(JSON.parse(metadata.Headers!.json!)['x-multi']).toBe('a, b');
  });

  it('passes JSON and text bodies as the exact bytes sent', async () => {
    const { calls, base } = await start([httpFunction('echo', {})]);
    const json = '{"b": [1, 2.50, "\\u00e9"],\n "a": null}';
    const text = 'héllo\r\nwörld\u0000end';
    await send(`${base}/api/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json });
    await send(`${base}/api/echo`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: text, chunked: true });
    expect(Buffer.from(calls[0]!.request.triggerData.http!.body!.bytes!).toString('utf8')).toBe(json);
    expect(Buffer.from(calls[1]!.request.triggerData.http!.body!.bytes!).toString('utf8')).toBe(text);
  });

  it('sends no body for an empty request', async () => {
    const { calls, base } = await start([httpFunction('echo', {})]);
    await send(`${base}/api/echo`);
    expect(calls[0]!.request.triggerData.http!.body).toBeUndefined();
    expect(calls[0]!.request.triggerData.http!.method).toBe('GET');
  });

  it('serves routes at the root when the route prefix is empty', async () => {
    const { calls, base } = await start([httpFunction('ping', {})], undefined, { routePrefix: '' });
    expect((await send(`${base}/ping`)).status).toBe(200);
    expect((await send(`${base}/api/ping`)).status).toBe(404);
    expect(calls).toHaveLength(1);
  });
});

describe('HTTP server: response mapping', () => {
  it('writes status, headers, cookies and a binary body', async () => {
    const { base } = await start([httpFunction('bin', {})], () => ({
      returnValue: {
        http: {
          statusCode: '201',
          headers: { 'Content-Type': 'application/octet-stream', 'x-custom': 'v1', 'content-length': '999' },
          cookies: [
            { name: 'session', value: 'a b;c', path: { value: '/app' }, httpOnly: { value: true }, secure: { value: true }, sameSite: 'strict' },
            {
              name: 'theme',
              value: 'dark',
              domain: { value: 'example.test' },
              expires: { value: { seconds: 1_700_000_000 } },
              maxAge: { value: 3600 },
              sameSite: 'explicitNone',
            },
            { name: 'plain', value: 'x', sameSite: 'none' },
          ],
          body: { bytes: allBytes },
        },
      },
      outputs: {},
    }));
    const res = await send(`${base}/api/bin`);
    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.headers['x-custom']).toBe('v1');
    expect(res.headers['content-length']).toBe('256');
    expect(res.headers['set-cookie']).toEqual([
      'session=a%20b%3Bc; path=/app; secure; samesite=strict; httponly',
      'theme=dark; expires=Tue, 14 Nov 2023 22:13:20 GMT; max-age=3600; domain=example.test; path=/; samesite=none',
      'plain=x; path=/',
    ]);
    expect(res.body.equals(allBytes)).toBe(true);
  });

  it('gives string and JSON bodies a default content type', async () => {
    const bodies = [{ string: 'héllo' }, { json: '{"a":1}' }];
    let next = 0;
    const { base } = await start([httpFunction('typed', {})], () => ({
      returnValue: { http: { statusCode: '200', body: bodies[next++] } },
      outputs: {},
    }));
    const text = await send(`${base}/api/typed`);
    expect(text.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(text.body.toString('utf8')).toBe('héllo');
    const json = await send(`${base}/api/typed`);
    expect(json.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(json.body.toString('utf8'))).toEqual({ a: 1 });
  });

  it('answers 200 with an empty body when the function returns nothing', async () => {
    const { base } = await start([httpFunction('nothing', {})], () => ({ returnValue: undefined, outputs: {} }));
    const res = await send(`${base}/api/nothing`);
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(0);
  });

  it('reads the response from a named http output binding when it is not $return', async () => {
    const fn = httpFunction('named', {}, { res: { type: 'http', direction: 'out' } });
    const { base } = await start([fn], () => ({
      returnValue: { http: { statusCode: '500', body: { string: 'wrong one' } } },
      outputs: { res: { http: { statusCode: '202', body: { string: 'from res' } } } },
    }));
    const res = await send(`${base}/api/named`);
    expect(res.status).toBe(202);
    expect(res.body.toString()).toBe('from res');
  });

  it('sends headers but no body for HEAD, and none for 204', async () => {
    const { base } = await start([httpFunction('h', { methods: ['GET', 'HEAD'] })], (_fn, request) => ({
      returnValue: {
        http: {
          statusCode: request.triggerData.http!.method === 'HEAD' ? '200' : '204',
          headers: { 'x-seen': request.triggerData.http!.method! },
          body: { string: 'body text' },
        },
      },
      outputs: {},
    }));
    const head = await send(`${base}/api/h`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['x-seen']).toBe('HEAD');
    expect(head.body.length).toBe(0);
    const noContent = await send(`${base}/api/h`);
    expect(noContent.status).toBe(204);
    expect(noContent.body.length).toBe(0);
  });

  it('answers 500 when the function returns a header Node cannot send', async () => {
    const { base, log } = await start([httpFunction('badheader', {})], () => ({
      returnValue: { http: { statusCode: '200', headers: { 'x-bad': 'line\nbreak' }, body: { string: 'secret' } } },
      outputs: {},
    }));
    const res = await send(`${base}/api/badheader`);
    expect(res.status).toBe(500);
    expect(res.body.length).toBe(0);
    expect(res.headers['x-bad']).toBeUndefined();
    expect(log.lines.some((l) => l.startsWith('error') && l.includes('badheader'))).toBe(true);
  });
});

describe('HTTP server: errors and limits', () => {
  it('answers 404 for an unknown route and for a known route with another method', async () => {
    const { calls, base } = await start([httpFunction('getOnly', { methods: ['GET'] })]);
    expect((await send(`${base}/api/nope`)).status).toBe(404);
    const wrongMethod = await send(`${base}/api/getOnly`, { method: 'POST', body: 'x' });
    expect(wrongMethod.status).toBe(404);
    expect(wrongMethod.body.length).toBe(0);
    expect((await send(`${base}/api/getOnly`, { method: 'HEAD' })).status).toBe(404);
    expect(calls).toHaveLength(0);
  });

  it('answers 500 with an empty body when the invocation throws, logging the error', async () => {
    const { base, log } = await start([httpFunction('boom', {})], () => {
      throw new Error('database password is hunter2');
    });
    const res = await send(`${base}/api/boom`);
    expect(res.status).toBe(500);
    expect(res.body.length).toBe(0);
    expect(JSON.stringify(res.headers)).not.toContain('hunter2');
    expect(log.lines.some((l) => l.startsWith('error') && l.includes("'boom'") && l.includes('hunter2'))).toBe(true);
  });

  it('answers 413 for a body over the limit, declared or chunked, and accepts one at the limit', async () => {
    const { calls, base } = await start([httpFunction('upload', { methods: ['POST'] })], undefined, {
      maxBodyBytes: 1024,
    });
    const declared = await send(`${base}/api/upload`, { method: 'POST', body: Buffer.alloc(2048, 1) });
    expect(declared.status).toBe(413);
    const chunked = await send(`${base}/api/upload`, { method: 'POST', body: Buffer.alloc(4096, 2), chunked: true });
    expect(chunked.status).toBe(413);
    expect(calls).toHaveLength(0);
    const atLimit = await send(`${base}/api/upload`, { method: 'POST', body: Buffer.alloc(1024, 3) });
    expect(atLimit.status).toBe(200);
    expect(calls[0]!.request.triggerData.http!.body!.bytes!.length).toBe(1024);
  });

  it('fails to start, naming the function and template, when a route is invalid', async () => {
    await expect(
      startHttpServer({
        port: 0,
        routePrefix: 'api',
        functions: [httpFunction('broken', { route: 'jobs/{id' })],
        invoke: async () => ({ outputs: {} }),
        keys,
        log: recordingLog(),
      }),
    ).rejects.toThrow(/Function 'broken'.*'jobs\/\{id'/);
  });

  it('handles requests concurrently', async () => {
    let started = 0;
    let releaseAll!: () => void;
    const bothStarted = new Promise<void>((resolve) => (releaseAll = resolve));
    const { base } = await start([httpFunction('slow', {})], async () => {
      // Each invocation waits until the other has started: this deadlocks if requests are serialized.
      if (++started === 2) releaseAll();
      await bothStarted;
      return { returnValue: { http: { statusCode: '200' } }, outputs: {} };
    });
    const results = await Promise.all([send(`${base}/api/slow`), send(`${base}/api/slow`)]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
  });
});

describe('HTTP server: function keys', () => {
  const functions = [
    httpFunction('open', { authLevel: 'anonymous' }),
    httpFunction('keyed', { authLevel: 'function' }),
    httpFunction('adminOnly', { authLevel: 'ADMIN' }),
  ];

  it('enforces anonymous, function and admin levels via header or ?code=', async () => {
    const { calls, base } = await start(functions);
    const status = async (path: string, headers: Record<string, string> = {}) =>
      (await send(base + path, { headers })).status;

    expect(await status('/api/open')).toBe(200);

    const missing = await send(`${base}/api/keyed`);
    expect(missing.status).toBe(401);
    expect(missing.body.length).toBe(0);
    expect(await status('/api/keyed', { 'x-functions-key': 'wrong' })).toBe(401);
    expect(await status('/api/keyed?code=wrong')).toBe(401);
    expect(await status('/api/keyed', { 'x-functions-key': keys.functionKey })).toBe(200);
    expect(await status(`/api/keyed?code=${keys.functionKey}`)).toBe(200);
    expect(await status(`/api/keyed?code=${keys.masterKey}`)).toBe(200);
    expect(await status('/api/keyed', { 'x-functions-key': keys.systemKey('durabletask_extension') })).toBe(401);

    expect(await status('/api/adminOnly', { 'x-functions-key': keys.functionKey })).toBe(401);
    expect(await status(`/api/adminOnly?code=${keys.masterKey}`)).toBe(200);
    expect(await status('/api/adminOnly', { 'x-functions-key': keys.masterKey })).toBe(200);

    // Only authorized requests reached the function.
    expect(calls.map((c) => c.fn.name)).toEqual(['open', 'keyed', 'keyed', 'keyed', 'adminOnly', 'adminOnly']);
  });

  it('checks the route before the key, so an unknown path is 404 even without a key', async () => {
    const { base } = await start(functions);
    expect((await send(`${base}/api/missing`)).status).toBe(404);
  });
});

describe('HTTP server: extra routes', () => {
  it('mounts host routes with their own auth, before function routes', async () => {
    const seen: { path: string; body: string; query: string | null }[] = [];
    const extraRoutes: ExtraRoute[] = [
      {
        pathPrefix: '/runtime/webhooks/durabletask/',
        auth: 'system',
        systemKeyName: 'durabletask_extension',
        async handle(_req, res, url, body) {
          seen.push({ path: url.pathname, body: body.toString('utf8'), query: url.searchParams.get('x') });
          res.statusCode = 202;
          res.end('accepted');
        },
      },
      {
        pathPrefix: '/admin/',
        auth: 'admin',
        async handle(_req, res) {
          res.end('admin');
        },
      },
    ];
    const { calls, base } = await start(
      [httpFunction('shadowed', { route: '{*all}', authLevel: 'anonymous', methods: ['GET', 'POST'] })],
      undefined,
      { extraRoutes, routePrefix: '' },
    );
    const durable = `${base}/runtime/webhooks/durabletask/instances/abc`;
    const systemKey = keys.systemKey('durabletask_extension');

    expect((await send(durable)).status).toBe(401);
    expect((await send(durable, { headers: { 'x-functions-key': keys.functionKey } })).status).toBe(401);
    const ok = await send(`${durable}?x=1`, { method: 'POST', headers: { 'x-functions-key': systemKey }, body: '{"e":1}' });
    expect(ok.status).toBe(202);
    expect(ok.body.toString()).toBe('accepted');
    expect((await send(`${durable}?code=${systemKey}`)).status).toBe(202);
    expect((await send(`${durable}?code=${keys.masterKey}`)).status).toBe(202);
    expect(seen[0]).toEqual({ path: '/runtime/webhooks/durabletask/instances/abc', body: '{"e":1}', query: '1' });

    expect((await send(`${base}/admin/x`, { headers: { 'x-functions-key': keys.functionKey } })).status).toBe(401);
    expect((await send(`${base}/admin/x`, { headers: { 'x-functions-key': keys.masterKey } })).status).toBe(200);

    // Paths outside the extra routes still reach the catch-all function.
    expect((await send(`${base}/runtime/other`)).status).toBe(200);
    expect(calls).toHaveLength(1);
  });

  it('answers 500 when an extra route handler throws before responding', async () => {
    const { base, log } = await start([], undefined, {
      extraRoutes: [
        {
          pathPrefix: '/x/',
          auth: 'anonymous',
          async handle() {
            throw new Error('handler exploded');
          },
        },
      ],
    });
    const res = await send(`${base}/x/y`);
    expect(res.status).toBe(500);
    expect(res.body.length).toBe(0);
    expect(log.lines.some((l) => l.includes('handler exploded'))).toBe(true);
  });
});
