// The agent's side of the agent API (shared/agent-protocol.ts). A failure to reach the control
// plane (network error, timeout, 5xx, 429) is ControlPlaneUnavailable, which callers retry; any
// other non-2xx answer is ControlPlaneRejected: the control plane answered and said no.
import {
  AGENT_ROUTES,
  type ClaimRequest,
  type ClaimResponse,
  type CompleteRequest,
  type CompleteResponse,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type ReleaseRequest,
  type StartTaskReport,
} from '../shared/agent-protocol.js';

export class ControlPlaneUnavailable extends Error {
  override readonly name = 'ControlPlaneUnavailable';
}

export class ControlPlaneRejected extends Error {
  override readonly name = 'ControlPlaneRejected';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const DEFAULT_HEARTBEAT_MS = 500;

export class ControlPlaneClient {
  constructor(
    private readonly endpoint: string,
    private readonly agentKey: string | undefined,
    private readonly timeoutMs = 10_000,
  ) {}

  async claim(request: ClaimRequest): Promise<ClaimResponse> {
    const answer = (await this.post(AGENT_ROUTES.claim, request)) as Partial<ClaimResponse> | undefined;
    if (answer?.granted === true) {
      return { granted: true, retryCount: numberOr(answer.retryCount, 0), requeueCount: numberOr(answer.requeueCount, 0) };
    }
    const reason = (answer as { reason?: unknown } | undefined)?.reason;
    return { granted: false, reason: typeof reason === 'string' ? (reason as never) : 'UnknownTask' };
  }

  async complete(request: CompleteRequest): Promise<CompleteResponse> {
    const answer = (await this.post(AGENT_ROUTES.complete, request)) as Partial<CompleteResponse> | undefined;
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
    return {
      kill,
      drain: answer?.drain === true,
      shutdown: answer?.shutdown === true,
      nextHeartbeatMs: numberOr(answer?.nextHeartbeatMs, DEFAULT_HEARTBEAT_MS),
    };
  }

  private async post(route: string, body: unknown): Promise<unknown> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.agentKey) headers['x-functions-key'] = this.agentKey;
    let response: Response;
    try {
      response = await fetch(`${this.endpoint}/${route}`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new ControlPlaneUnavailable(`POST ${route}: ${describe(error)}`);
    }
    const text = await response.text().catch(() => '');
    if (response.status >= 500 || response.status === 429 || response.status === 408) {
      throw new ControlPlaneUnavailable(`POST ${route}: HTTP ${response.status}`);
    }
    if (!response.ok) throw new ControlPlaneRejected(response.status, `POST ${route}: HTTP ${response.status} ${text.slice(0, 200)}`);
    if (!text) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  }
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string } }).cause?.code;
  return cause ?? (error instanceof Error ? error.message : String(error));
}
