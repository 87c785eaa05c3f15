import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHost, type RunningHost } from '../../local-host/host.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

export interface FnbatchHost {
  host: RunningHost;
  /** Calls the fnbatch API with the function key; path is relative to /api/. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; headers: Headers; json: any; text: string }>;
  stop(): Promise<void>;
}

/**
 * The fnbatch app itself on an in-process local host on any free port, with its state in a fresh
 * temporary data folder (the journaled stores a user's `fnbatch host` gets by default), removed
 * on stop. `inMemory` uses the Cosmos DB protocol server instead.
 */
export async function startFnbatch(options: { log?: boolean; inMemory?: boolean } = {}): Promise<FnbatchHost> {
  const dataDir = options.inMemory ? undefined : mkdtempSync(path.join(os.tmpdir(), 'fnbatch-host-'));
  const host = await startHost({
    appDir: repoRoot,
    port: 0,
    ...(dataDir ? { dataDir } : { inMemory: true }),
    log: options.log ? undefined : quiet,
    functionLogs: !!options.log,
  });
  const call: FnbatchHost['call'] = async (method, urlPath, body, headers = {}) => {
    const res = await fetch(`${host.baseUrl}/api/${urlPath}`, {
      method,
      headers: { 'x-functions-key': host.keys.functionKey, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, json, text };
  };
  return {
    host,
    call,
    stop: async () => {
      await host.stop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function waitUntil<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 60_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
