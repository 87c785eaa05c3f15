// The app's DurableClients reach this host's management API in process. The durable-functions
// DurableClient sends every call (start, raise, terminate, status) with axios to the management
// URLs of its binding data, which on the local host are the host's own webhooks. A loopback HTTP
// request and its answer cost the host's one event loop about 0.8 ms of CPU per raised event,
// and fnbatch raises one for about every other task that ends. So the host gives the
// durable-functions package's axios an adapter that answers requests addressed to a running
// host's webhooks by calling its management API directly: the same routing, key check, status
// codes and JSON as over HTTP. Any other URL, and any request this cannot answer as HTTP would
// (query parameters outside the URL, a body that is not text), goes out over HTTP as before.
import { createRequire } from 'node:module';
import path from 'node:path';
import { DURABLE_WEBHOOK_PATH } from './client-data.js';
import type { ManagementApi } from './management-api.js';
import { FUNCTION_KEY_HEADER, presentedKey } from '../http/keys.js';

/** What the adapter reads of an axios request config (axios 1.x). */
interface AxiosRequest {
  url?: string;
  baseURL?: string;
  method?: string;
  data?: unknown;
  params?: unknown;
  headers?: Record<string, unknown> & { get?(name: string): unknown };
  validateStatus?: ((status: number) => boolean) | null;
}

interface AxiosResponse {
  data: string;
  status: number;
  statusText: string;
  headers: Record<string, string>;
  config: AxiosRequest;
  request: object;
}

type Adapter = (config: AxiosRequest) => Promise<AxiosResponse>;

interface AxiosModule {
  defaults: { adapter?: unknown };
  getAdapter?(adapters: unknown): Adapter;
  AxiosError?: new (message: string, code: string, config: AxiosRequest, request: object, response: AxiosResponse) => Error;
}

export interface InProcessManagement {
  api: ManagementApi;
  /** Whether a presented key (the `code` query parameter or x-functions-key) opens the management API. */
  authorize(presentedKey: string | undefined): boolean;
}

/** Running hosts' management APIs, by the origin their URLs carry. */
const hosts = new Map<string, InProcessManagement>();
/** The axios copies given the adapter. */
const adapted = new WeakSet<AxiosModule>();

/**
 * Answers the DurableClient calls of the app in `appDir` to `origin` in process, until `stop`.
 * `served` is false (and nothing changed) when the app's durable-functions package or its axios
 * cannot be found or cannot take an adapter; its calls then go over HTTP.
 */
export function serveDurableClientInProcess(appDir: string, origin: string, management: InProcessManagement): { served: boolean; stop: () => void } {
  const axios = durableFunctionsAxios(appDir);
  if (!axios || !install(axios)) return { served: false, stop: () => undefined };
  hosts.set(origin, management);
  return {
    served: true,
    stop: () => {
      if (hosts.get(origin) === management) hosts.delete(origin);
    },
  };
}

function install(axios: AxiosModule): boolean {
  if (adapted.has(axios)) return true;
  if (!axios.getAdapter || !axios.AxiosError) return false;
  const overHttp = axios.getAdapter(axios.defaults.adapter);
  const AxiosError = axios.AxiosError;
  // Clients copy the defaults when they are made, so this must happen before the app makes one.
  axios.defaults.adapter = async function durableClientAdapter(config: AxiosRequest): Promise<AxiosResponse> {
    const target = inProcessTarget(config);
    if (!target) return overHttp(config);
    const { url, management } = target;
    const answer = management.authorize(presentedKey(headerOf(config, FUNCTION_KEY_HEADER), url))
      ? management.api({ method: (config.method ?? 'get').toUpperCase(), url, origin: url.origin, ...continuation(config), body: bodyOf(config.data) })
      : { status: 401, headers: {} as Record<string, string> };
    const response: AxiosResponse = { data: answer.body ?? '', status: answer.status, statusText: '', headers: lowerCased(answer.headers), config, request: {} };
    // What axios's own adapters do with a status the caller does not accept.
    if (config.validateStatus && !config.validateStatus(answer.status)) {
      throw new AxiosError(`Request failed with status code ${answer.status}`, answer.status >= 500 ? 'ERR_BAD_RESPONSE' : 'ERR_BAD_REQUEST', config, response.request, response);
    }
    return response;
  };
  adapted.add(axios);
  return true;
}

function inProcessTarget(config: AxiosRequest): { url: URL; management: InProcessManagement } | undefined {
  if (!config.url || config.params !== undefined) return undefined;
  if (config.data !== undefined && typeof config.data !== 'string' && !Buffer.isBuffer(config.data)) return undefined;
  let url: URL;
  try {
    url = new URL(config.url, config.baseURL);
  } catch {
    return undefined;
  }
  if (!url.pathname.startsWith(`${DURABLE_WEBHOOK_PATH}/`)) return undefined;
  const management = hosts.get(url.origin);
  return management ? { url, management } : undefined;
}

function continuation(config: AxiosRequest): { continuationToken?: string } {
  const token = headerOf(config, 'x-ms-continuation-token');
  return token ? { continuationToken: token } : {};
}

function headerOf(config: AxiosRequest, name: string): string | undefined {
  const headers = config.headers;
  const value = typeof headers?.get === 'function' ? headers.get(name) : headers?.[name];
  return typeof value === 'string' ? value : undefined;
}

function bodyOf(data: unknown): Buffer {
  if (data === undefined) return Buffer.alloc(0);
  return Buffer.isBuffer(data) ? data : Buffer.from(data as string, 'utf8');
}

function lowerCased(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

/** The axios the app's durable-functions package loads (it may carry its own copy). */
function durableFunctionsAxios(appDir: string): AxiosModule | undefined {
  try {
    const require = createRequire(path.join(appDir, 'package.json'));
    const packageDir = path.dirname(require.resolve('durable-functions'));
    const loaded = require(require.resolve('axios', { paths: [packageDir] })) as AxiosModule & { default?: AxiosModule };
    return loaded.default ?? loaded;
  } catch {
    return undefined;
  }
}
