// The fnbatch HTTP API as the CLI uses it: Batch's resource paths under /api, the function key in
// x-functions-key, Batch error bodies turned into ServiceError, odata.nextLink paging followed.
import type { Connection } from './connection.js';

export interface BatchErrorBody {
  code: string;
  message?: { lang?: string; value?: string };
  values?: { key: string; value: string }[];
}

/** The service answered with an error status; `body` is Batch's error body when it sent one. */
export class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly values: { key: string; value: string }[] = [],
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

/** The service could not be reached at all. */
export class UnreachableError extends Error {}

import type { TaskCounts } from '../shared/app/job-service.js';

/** The service's `taskCounts` shape, shared with the service so the two cannot drift. */
export type { TaskCounts } from '../shared/app/job-service.js';

export type Resource = Record<string, unknown> & { id: string };

export interface FileChunk {
  /** 200 or 206 with bytes, 416 when nothing lies at or beyond the offset. */
  status: number;
  data: Buffer;
  /** The file's size when the service said (Content-Range), else undefined. */
  size?: number;
}

type Fetch = typeof fetch;

interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Statuses returned to the caller rather than raised (besides 2xx). */
  allow?: number[];
}

export class BatchClient {
  private readonly origin: string;

  constructor(
    private readonly connection: Connection,
    private readonly fetchImpl: Fetch = fetch,
  ) {
    this.origin = new URL(connection.apiBase).origin;
  }

  get apiBase(): string {
    return this.connection.apiBase;
  }

  url(path: string): string {
    return `${this.connection.apiBase}/${path.replace(/^\/+/, '')}`;
  }

  fileUrl(jobId: string, taskId: string, file: string): string {
    return this.url(`jobs/${enc(jobId)}/tasks/${enc(taskId)}/files/${enc(file)}`);
  }

  // ---- pools ----
  createPool(body: unknown) {
    return this.call('POST', 'pools', { body });
  }
  async getPool(poolId: string): Promise<Resource> {
    return (await this.json('GET', `pools/${enc(poolId)}`)) as Resource;
  }
  async listPools(): Promise<Resource[]> {
    return this.collect(this.url('pools'));
  }
  resizePool(poolId: string, body: unknown) {
    return this.call('POST', `pools/${enc(poolId)}/resize`, { body });
  }
  deletePool(poolId: string) {
    return this.call('DELETE', `pools/${enc(poolId)}`);
  }
  async listNodes(poolId: string): Promise<Resource[]> {
    return this.collect(this.url(`pools/${enc(poolId)}/nodes`));
  }

  // ---- jobs ----
  submitJob(body: unknown) {
    return this.call('POST', 'jobs', { body });
  }
  async getJob(jobId: string): Promise<Resource> {
    return (await this.json('GET', `jobs/${enc(jobId)}`)) as Resource;
  }
  async listJobs(): Promise<Resource[]> {
    return this.collect(this.url('jobs'));
  }
  terminateJob(jobId: string, reason?: string) {
    return this.call('POST', `jobs/${enc(jobId)}/terminate`, reason === undefined ? {} : { body: { terminateReason: reason } });
  }
  async taskCounts(jobId: string): Promise<TaskCounts> {
    return ((await this.json('GET', `jobs/${enc(jobId)}/taskcounts`)) as { taskCounts: TaskCounts }).taskCounts;
  }

  // ---- tasks ----
  async getTask(jobId: string, taskId: string): Promise<Resource> {
    return (await this.json('GET', `jobs/${enc(jobId)}/tasks/${enc(taskId)}`)) as Resource;
  }
  /** Every task of the job matching the filter, across all pages. */
  async listTasks(jobId: string, query: { filter?: string; select?: string; pageSize?: number } = {}): Promise<Resource[]> {
    const url = new URL(this.url(`jobs/${enc(jobId)}/tasks`));
    if (query.filter) url.searchParams.set('$filter', query.filter);
    if (query.select) url.searchParams.set('$select', query.select);
    if (query.pageSize) url.searchParams.set('maxresults', String(query.pageSize));
    return this.collect(url.href);
  }

  /** Bytes of a task file from `offset` on (at most `length` of them), by an HTTP Range request. */
  async readFile(jobId: string, taskId: string, file: string, offset: number, length: number): Promise<FileChunk> {
    const res = await this.send('GET', this.fileUrl(jobId, taskId, file), {
      headers: { Range: `bytes=${offset}-${offset + length - 1}` },
      allow: [416],
    });
    const data = Buffer.from(await res.arrayBuffer());
    const size = parseContentRangeSize(res.headers.get('content-range'));
    if (res.status === 200) {
      // A server that ignores Range sends the whole file; keep only what was asked for.
      return { status: 200, data: data.subarray(offset, offset + length), size: data.length };
    }
    return size === undefined ? { status: res.status, data } : { status: res.status, data, size };
  }

  // ---- plumbing ----
  async call(method: string, path: string, options: CallOptions = {}): Promise<{ status: number; headers: Headers }> {
    const res = await this.send(method, this.url(path), options);
    await res.arrayBuffer();
    return { status: res.status, headers: res.headers };
  }

  private async json(method: string, path: string, options: CallOptions = {}): Promise<unknown> {
    const res = await this.send(method, this.url(path), options);
    return res.json();
  }

  /** Follows odata.nextLink until the last page. */
  private async collect(firstUrl: string): Promise<Resource[]> {
    const all: Resource[] = [];
    for (let next: string | undefined = firstUrl; next; ) {
      const res = await this.send('GET', next, {});
      const page = (await res.json()) as { value?: Resource[]; 'odata.nextLink'?: string };
      all.push(...(page.value ?? []));
      next = page['odata.nextLink'] ? this.sameOrigin(page['odata.nextLink']) : undefined;
    }
    return all;
  }

  /**
   * The key goes only to the endpoint the user chose: a next link naming another origin (a proxy's
   * internal name, say) is followed on the endpoint's origin instead.
   */
  private sameOrigin(link: string): string {
    const url = new URL(link, this.connection.apiBase);
    return url.origin === this.origin ? url.href : `${this.origin}${url.pathname}${url.search}`;
  }

  private async send(method: string, url: string, options: CallOptions): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
    if (this.connection.key) headers['x-functions-key'] = this.connection.key;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['Content-Type'] = 'application/json; odata=minimalmetadata';
    }
    let res: Response;
    try {
      res = await this.fetchImpl(url, { method, headers, body });
    } catch (err) {
      throw new UnreachableError(unreachableMessage(this.origin, err));
    }
    if (res.ok || options.allow?.includes(res.status)) return res;
    throw await serviceError(res);
  }
}

async function serviceError(res: Response): Promise<ServiceError> {
  const text = await res.text().catch(() => '');
  let body: Partial<BatchErrorBody> | undefined;
  try {
    body = JSON.parse(text) as Partial<BatchErrorBody>;
  } catch {
    body = undefined;
  }
  if (body && typeof body.code === 'string') {
    const values = Array.isArray(body.values) ? body.values.filter((v) => v && typeof v.key === 'string') : [];
    return new ServiceError(res.status, body.code, body.message?.value ?? res.statusText, values);
  }
  if (res.status === 401) {
    return new ServiceError(401, 'Unauthorized', 'The service refused the request: pass a function key with --key or FNBATCH_KEY.');
  }
  return new ServiceError(res.status, `HTTP${res.status}`, text.trim().slice(0, 500) || res.statusText || `HTTP status ${res.status}`);
}

function unreachableMessage(origin: string, err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (err as Error).message;
  return `cannot reach fnbatch at ${origin} (${why}); start it with \`fnbatch host\`, or pass --endpoint or FNBATCH_ENDPOINT`;
}

export function parseContentRangeSize(header: string | null): number | undefined {
  const match = header ? /\/(\d+)\s*$/.exec(header) : null;
  return match ? Number(match[1]) : undefined;
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}
