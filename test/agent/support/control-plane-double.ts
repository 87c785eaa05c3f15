// A test double of the control plane's agent API: records every call, grants claims unless told
// otherwise, and answers heartbeats with whatever the test queues up (kill, drain, shutdown, hold
// back). Where it offers the work signal, the test says when work was sent (signalWork), and a
// node's notice of work it gave back counts as a send.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  ClaimRefusal,
  ClaimRequest,
  ClaimResponse,
  CompleteRequest,
  CompleteResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  ReleaseRequest,
  ReportsRequest,
  ReportsResponse,
  StartTaskReport,
  WorkReturnedReport,
  WorkSignalRequest,
} from '../../../shared/agent-protocol.js';

export const TEST_AGENT_KEY = 'test-agent-key';

export interface Recorded<T> {
  at: number;
  body: T;
}

export class ControlPlaneDouble {
  readonly claims: Recorded<ClaimRequest>[] = [];
  /** Calls that carried claims and end reports together. */
  readonly reportCalls: Recorded<ReportsRequest>[] = [];
  readonly completions: Recorded<CompleteRequest>[] = [];
  readonly releases: Recorded<ReleaseRequest>[] = [];
  readonly heartbeats: Recorded<HeartbeatRequest>[] = [];
  readonly startTasks: Recorded<StartTaskReport>[] = [];
  readonly workSignalCalls: Recorded<WorkSignalRequest>[] = [];
  readonly workReturnedCalls: Recorded<WorkReturnedReport>[] = [];
  /** Runs when a notice of work given back arrives, before it is answered and before the held requests are. */
  onWorkReturned: () => Promise<void> = async () => {};
  readonly unauthorized: string[] = [];
  /** Return a refusal reason to refuse a claim. */
  refuseClaim: (claim: ClaimRequest) => ClaimRefusal | undefined = () => undefined;
  /** While true every call answers 503, as an unreachable control plane would look through a gateway. */
  down = false;
  /** Answers end reports this much later (a slow control plane). */
  completeDelayMs = 0;
  nextHeartbeatMs = 200;
  private kills: HeartbeatResponse['kill'] = [];
  private drain = false;
  /** Answered in every heartbeat: the pool packs and another node comes first. */
  holdBack = false;
  /** Answered in every heartbeat: the pool spreads and this many other nodes run nothing. */
  idlePeers = 0;
  /** Answered in every heartbeat: agents may wait on the work signal. */
  offerWorkSignal = false;
  /** Offered in heartbeats but refused when called (a control plane that changed its mind). */
  refuseWorkSignal = false;
  private workCount = 0;
  private readonly heldSignals = new Set<() => void>();
  private shutdown = false;
  private server!: Server;
  baseUrl = '';

  static async start(): Promise<ControlPlaneDouble> {
    const double = new ControlPlaneDouble();
    double.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const reply = (status: number, body?: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(body === undefined ? '' : JSON.stringify(body));
        };
        if (req.headers['x-functions-key'] !== TEST_AGENT_KEY) {
          double.unauthorized.push(req.url ?? '');
          return reply(401, { error: 'bad key' });
        }
        if (double.down) return reply(503);
        const at = Date.now();
        const body = JSON.parse(raw || '{}');
        switch (req.url) {
          case '/api/agent/claim':
            return reply(200, double.answerClaim(at, body));
          case '/api/agent/complete': {
            const answer = double.answerCompletion(at, body);
            if (double.completeDelayMs > 0) {
              setTimeout(() => reply(200, answer), double.completeDelayMs);
              return;
            }
            return reply(200, answer);
          }
          case '/api/agent/reports': {
            const { claims = [], completions = [] } = body as Partial<ReportsRequest>;
            double.reportCalls.push({ at, body: { claims, completions } });
            const answer: ReportsResponse = {
              claims: claims.map((c) => ({ ok: double.answerClaim(at, c) })),
              completions: completions.map((c) => ({ ok: double.answerCompletion(at, c) })),
            };
            if (completions.length > 0 && double.completeDelayMs > 0) {
              setTimeout(() => reply(200, answer), double.completeDelayMs);
              return;
            }
            return reply(200, answer);
          }
          case '/api/agent/release':
            double.releases.push({ at, body });
            return reply(200, {});
          case '/api/agent/starttask':
            double.startTasks.push({ at, body });
            return reply(200, {});
          case '/api/agent/heartbeat': {
            double.heartbeats.push({ at, body });
            const answer: HeartbeatResponse = {
              kill: double.kills,
              drain: double.drain,
              shutdown: double.shutdown,
              nextHeartbeatMs: double.nextHeartbeatMs,
              ...(double.holdBack ? { holdBack: true } : {}),
              ...(double.idlePeers > 0 ? { idlePeers: double.idlePeers } : {}),
              ...(double.offerWorkSignal ? { workSignal: true } : {}),
            };
            double.kills = [];
            return reply(200, answer);
          }
          case '/api/agent/worksignal': {
            const req = body as WorkSignalRequest;
            double.workSignalCalls.push({ at, body: req });
            if (!double.offerWorkSignal || double.refuseWorkSignal) return reply(409, { code: 'OperationInvalidForCurrentState' });
            if (req.after === undefined || req.after !== double.workCount) return reply(200, { count: double.workCount });
            const answer = () => {
              clearTimeout(timer);
              double.heldSignals.delete(answer);
              reply(200, { count: double.workCount });
            };
            const timer = setTimeout(answer, req.waitMs);
            double.heldSignals.add(answer);
            return;
          }
          case '/api/agent/workreturned': {
            double.workReturnedCalls.push({ at, body });
            if (!double.offerWorkSignal || double.refuseWorkSignal) return reply(409, { code: 'OperationInvalidForCurrentState' });
            void double.onWorkReturned().then(() => {
              double.signalWork();
              reply(204);
            });
            return;
          }
          default:
            return reply(404);
        }
      });
    });
    await new Promise<void>((resolve) => double.server.listen(0, '127.0.0.1', resolve));
    double.baseUrl = `http://127.0.0.1:${(double.server.address() as AddressInfo).port}/api`;
    return double;
  }

  private answerClaim(at: number, body: ClaimRequest): ClaimResponse {
    this.claims.push({ at, body });
    const reason = this.refuseClaim(body);
    // As the real control plane does, a later attempt of a task reports the attempts before it.
    const earlier = this.claims.filter((c) => c.body.jobId === body.jobId && c.body.taskId === body.taskId).length - 1;
    return reason ? { granted: false, reason } : { granted: true, retryCount: 0, requeueCount: earlier };
  }

  private answerCompletion(at: number, body: CompleteRequest): CompleteResponse {
    const duplicate = this.completions.some((c) => c.body.dispatchId === body.dispatchId);
    this.completions.push({ at, body });
    return { accepted: !duplicate };
  }

  /** The next heartbeat answer tells the agent to kill this task. */
  killOnNextHeartbeat(target: { jobId: string; taskId: string; dispatchId: string }): void {
    this.kills.push(target);
  }

  /** Work was sent to the pool: answers the held work-signal requests, as the control plane does. */
  signalWork(): void {
    this.workCount++;
    for (const answer of [...this.heldSignals]) answer();
  }

  /** Work-signal requests being held now. */
  get heldWorkSignals(): number {
    return this.heldSignals.size;
  }

  setDrain(drain: boolean): void {
    this.drain = drain;
  }

  setShutdown(shutdown: boolean): void {
    this.shutdown = shutdown;
  }

  completionOf(taskId: string): CompleteRequest | undefined {
    return this.completions.find((c) => c.body.taskId === taskId)?.body;
  }

  async stop(): Promise<void> {
    for (const answer of [...this.heldSignals]) answer();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
