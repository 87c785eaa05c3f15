// Where the CLI sends its requests and with which function key: --endpoint/--key, then
// FNBATCH_ENDPOINT/FNBATCH_KEY, then the local host on this machine with the key it keeps in its
// data folder. The key never leaves this module except in the request header.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:7071';

export interface Connection {
  /** The API base, always ending in /api (no trailing slash). */
  apiBase: string;
  key?: string;
}

export class ConnectionError extends Error {}

export interface ConnectionInputs {
  endpoint?: string;
  key?: string;
  env: NodeJS.ProcessEnv;
  /** The fnbatch package folder; its `.fnbatch/keys.json` is the local host's default data folder. */
  packageRoot: string;
}

export function resolveConnection(inputs: ConnectionInputs): Connection {
  const endpoint = nonEmpty(inputs.endpoint) ?? nonEmpty(inputs.env.FNBATCH_ENDPOINT) ?? DEFAULT_ENDPOINT;
  const apiBase = apiBaseOf(endpoint);
  const key = nonEmpty(inputs.key) ?? nonEmpty(inputs.env.FNBATCH_KEY) ?? (isLoopback(apiBase) ? localHostKey(inputs.packageRoot) : undefined);
  return key === undefined ? { apiBase } : { apiBase, key };
}

/** Accepts the host's origin (http://host:7071) or the API base (http://host:7071/api). */
export function apiBaseOf(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ConnectionError(`the endpoint "${endpoint}" is not a URL (e.g. ${DEFAULT_ENDPOINT})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConnectionError(`the endpoint "${endpoint}" must be an http(s) URL`);
  const base = `${url.origin}${url.pathname}`.replace(/\/+$/, '');
  return base.endsWith('/api') ? base : `${base}/api`;
}

export function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === '::1';
}

/** The function key of a local host started with its default data folder, if there is one. */
export function localHostKey(packageRoot: string): string | undefined {
  const file = path.join(packageRoot, '.fnbatch', 'keys.json');
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { functionKey?: unknown };
    return typeof parsed.functionKey === 'string' && parsed.functionKey ? parsed.functionKey : undefined;
  } catch {
    // No local host has run from this folder (or the file is damaged): the service will say 401.
    return undefined;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
