// The agent's side of the agent API (shared/agent-protocol.ts). A failure to reach the control
// plane (network error, timeout, 5xx, 429) is ControlPlaneUnavailable, which callers retry; any
// other non-2xx answer is ControlPlaneRejected: the control plane answered and said no.
import http from 'node:http';
import https from 'node:https';
import {
  AGENT_ROUTES,
  type ClaimRequest,
  type ClaimResponse,
  type CompleteRequest,
  type CompleteResponse,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type ReleaseRequest,
  type ReportsRequest,
  type ReportsResponse,
  type StartTaskReport,
  type WorkReturnedReport,
  type WorkSignalRequest,
  type WorkSignalResponse,
} from '../shared/agent-protocol.js';
import type { RequestCounter } from '../shared/adapters/request-counter.js';
import { ControlPlaneRejected, ControlPlaneUnavailable } from './control-plane-errors.js';
import { ReportBatcher } from './report-batcher.js';

export { ControlPlaneRejected, ControlPlaneUnavailable };

export const DEFAULT_HEARTBEAT_MS = 500;

export class ControlPlaneClient {
  private readonly httpAgent = new http.Agent({ keepAlive: true });
  private readonly httpsAgent = new https.Agent({ keepAlive: true });

  constructor(
    private readonly endpoint: string,
    private readonly agentKey: string | undefined,
    private readonly timeoutMs = 10_000,
    /** Counts every call made, failed ones included, as "api.<route>". */
    private readonly requests?: RequestCounter,
  ) {}

  /** Claims, and end reports, made while earlier ones are out share a call. */
  private readonly claims = new ReportBatcher<ClaimRequest, ClaimResponse>((claims) => this.reports('claims', { claims, completions: [] }));
  private readonly completions = new ReportBatcher<CompleteRequest, CompleteResponse>((completions) => this.reports('completions', { claims: [], completions }));

  async claim(request: ClaimRequest): Promise<ClaimResponse> {
    const answer = (await this.claims.submit(request)) as Partial<ClaimResponse> | undefined;
    if (answer?.granted === true) {
      return { granted: true, retryCount: numberOr(answer.retryCount, 0), requeueCount: numberOr(answer.requeueCount, 0) };
    }
    const reason = (answer as { reason?: unknown } | undefined)?.reason;
    return { granted: false, reason: typeof reason === 'string' ? (reason as never) : 'UnknownTask' };
  }

  async complete(request: CompleteRequest): Promise<CompleteResponse> {
    const answer = (await this.completions.submit(request)) as Partial<CompleteResponse> | undefined;
    return { accepted: answer?.accepted !== false };
  }

  async release(request: ReleaseRequest): Promise<void> {
    await this.post(AGENT_ROUTES.release, request);
  }

  async startTask(report: StartTaskReport): Promise<void> {
    await this.post(AGENT_ROUTES.startTask, report);
  }

  async heartbeat(request: HeartbeatRequest): Promise<HeartbeatResponse> {
    const answer = (await this.post(AGENT_ROUTES.heartbeat, request)) as Partial<HeartbeatResponse> | undefined;
    const kill = Array.isArray(answer?.kill) ? answer.kill.filter((k) => k && typeof k.dispatchId === 'string') : [];
    const idlePeers = countOf(answer?.idlePeers);
    return {
      kill,
      drain: answer?.drain === true,
      shutdown: answer?.shutdown === true,
      nextHeartbeatMs: numberOr(answer?.nextHeartbeatMs, DEFAULT_HEARTBEAT_MS),
      holdBack: answer?.holdBack === true,
      ...(idlePeers ? { idlePeers } : {}),
      workSignal: answer?.workSignal === true,
    };
  }

  /** Held by the control plane until work is sent to the pool, or for `waitMs`; answers its count of sends. */
  async awaitWork(request: WorkSignalRequest): Promise<number> {
    const answer = (await this.post(AGENT_ROUTES.workSignal, request, request.waitMs + this.timeoutMs)) as Partial<WorkSignalResponse> | undefined;
    if (!Number.isSafeInteger(answer?.count)) throw new ControlPlaneUnavailable(`POST ${AGENT_ROUTES.workSignal}: the answer holds no count`);
    return answer!.count!;
  }

  /** Messages this node gave back are visible on the pool's queues again. */
  async workReturned(report: WorkReturnedReport): Promise<void> {
    await this.post(AGENT_ROUTES.workReturned, report);
  }

  /** One reports call; answers the outcomes of the kind of items it carried. */
  private async reports<K extends keyof ReportsResponse>(kind: K, request: ReportsRequest): Promise<ReportsResponse[K] | undefined> {
    const answer = (await this.post(AGENT_ROUTES.reports, request)) as Partial<ReportsResponse> | undefined;
    return answer?.[kind];
  }

  private async post(route: string, body: unknown, timeoutMs = this.timeoutMs): Promise<unknown> {
    const payload = Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': payload.length };
    if (this.agentKey) headers['x-functions-key'] = this.agentKey;
    this.requests?.increment(`api.${route}`);
    let response: { status: number; text: string };
    try {
      response = await this.send(`${this.endpoint}/${route}`, headers, payload, timeoutMs);
    } catch (error) {
      throw new ControlPlaneUnavailable(`POST ${route}: ${describe(error)}`);
    }
    const { status, text } = response;
    if (status >= 500 || status === 429 || status === 408) {
      throw new ControlPlaneUnavailable(`POST ${route}: HTTP ${status}`);
    }
    if (status < 200 || status > 299) throw new ControlPlaneRejected(status, `POST ${route}: HTTP ${status} ${text.slice(0, 200)}`);
    if (!text) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  }

  /**
   * One POST over a kept-alive connection. node:http rather than fetch: an agent makes up to two
   * calls per task, and fetch (undici, with its abort signal) costs about twice the CPU per call.
   */
  private send(url: string, headers: Record<string, string | number>, payload: Buffer, timeoutMs: number): Promise<{ status: number; text: string }> {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const request = (secure ? https : http).request(
        target,
        { method: 'POST', headers, agent: secure ? this.httpsAgent : this.httpAgent, timeout: timeoutMs },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => resolve({ status: answer.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          answer.on('error', reject);
          answer.on('aborted', () => reject(new Error('the response was cut off')));
        },
      );
      // Also covers a server that accepts the request and never answers.
      request.on('timeout', () => request.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      request.on('error', reject);
      request.end(payload);
    });
  }

  /** Closes idle kept-alive connections. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** A whole count from an answer, 0 for anything else. */
function countOf(value: unknown): number {
  return Number.isSafeInteger(value) && (value as number) > 0 ? (value as number) : 0;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
}
