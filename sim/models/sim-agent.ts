// A node agent as a model that follows shared/agent-protocol.ts: it takes task messages from its
// pool's queues (highest band first), claims each before "running" it, runs it for a duration and
// with an exit code drawn from the seed, reports its end and deletes the message, keeps the lease
// alive while it runs, heartbeats and obeys the answers (kill, drain, shutdown). A crash loses
// everything it held; its messages come back when their leases end.
import {
  PRIORITY_BANDS,
  poolQueueName,
  type CompleteRequest,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type TaskMessage,
} from '../../shared/agent-protocol.js';
import type { AppContext } from '../../shared/app/context.js';
import { jobInstanceId } from '../../shared/app/documents.js';
import type { Services } from '../../shared/app/job-service.js';
import { heartbeat } from '../../shared/app/node-service.js';
import { claimTask, completeTask, releaseTask } from '../../shared/app/task-lifecycle.js';
import type { MemoryWorkQueue } from '../../shared/adapters/memory-work-queue.js';
import type { QueueMessage } from '../../shared/ports/work-queue.js';
import type { Clock } from '../../local-host/contracts.js';
import type { Step } from '../kernel.js';
import type { SimQueues } from './sim-queues.js';

export interface TaskRunProfile {
  durationMs: number;
  exitCode: number;
}

export interface AgentEnv {
  clock: Clock;
  queues: SimQueues;
  /**
   * Calls the control plane; rejects when the host is down or dies before answering. An atomic
   * call runs to its end without scheduling points.
   */
  hostCall<T>(label: string, call: (ctx: AppContext, services: Services) => Promise<T>, atomic?: boolean): Promise<T>;
  /** Runs an agent-side action on a thread of this node (dies with the node). */
  spawn(nodeId: string, name: string, body: () => Promise<void>): void;
  profile(task: TaskMessage): TaskRunProfile;
  /** Whether the answer to a call that took effect is lost on its way back (drawn from the seed). */
  responseLost(): boolean;
  note(line: string): void;
  heartbeatMs: number;
  leaseMs: number;
}

interface Held {
  task: TaskMessage;
  queue: MemoryWorkQueue;
  message: QueueMessage;
  startedAt: number;
  finishAt: number;
  exitCode: number | null;
  killedBy?: 'terminate' | 'maxWallClockTime';
  renewAt: number;
  reporting: boolean;
  retryAt: number;
}

const REPORT_RETRY_MS = 500;
const IDLE_POLL_MS = 500;
/** What the real agent waits after a NodeNotUsable refusal (its unreachableMaxMs). */
const NOT_USABLE_BACKOFF_MS = 10_000;

export class SimAgent {
  alive = true;
  /** Left the pool on a shutdown answer: the VM remains until the control plane deletes it. */
  left = false;
  private draining = false;
  private readonly held = new Map<string, Held>();
  private usedSlots = 0;
  private polling = false;
  private nextPollAt: number;
  private heartbeating = false;
  /** The answer to the latest heartbeat that got one. */
  lastAnswer: HeartbeatResponse | undefined;
  private nextHeartbeatAt: number;
  private readonly bootTime: string;
  /** The pool's queue names, highest band first (hashing them on every step is costly). */
  private readonly queueNames: string[];

  constructor(
    readonly poolId: string,
    readonly nodeId: string,
    readonly isDedicated: boolean,
    readonly taskSlots: number,
    readonly bootedAt: number,
    private readonly env: AgentEnv,
  ) {
    this.nextPollAt = bootedAt;
    this.nextHeartbeatAt = bootedAt;
    this.bootTime = new Date(bootedAt).toISOString();
    this.queueNames = PRIORITY_BANDS.map((band) => poolQueueName(poolId, band));
  }

  /** Alive and not told to drain or leave: it takes new tasks. */
  get takesWork(): boolean {
    return this.alive && !this.left && !this.draining;
  }

  get runningSlots(): number {
    return this.usedSlots;
  }

  holds(dispatchId: string): boolean {
    return this.held.has(dispatchId);
  }

  /** The node dies: nothing it held is reported or given back. */
  crash(): void {
    this.alive = false;
  }

  steps(): Step[] {
    if (!this.alive || this.left) return [];
    const now = this.env.clock.now();
    const owner = `agent ${this.nodeId}`;
    const steps: Step[] = [];
    if (this.heartbeatDue(now)) {
      steps.push({ owner, label: `${owner}: heartbeat`, run: () => this.startHeartbeat(false) });
    }
    if (this.canPoll(now)) {
      steps.push({ owner, label: `${owner}: receive a task`, run: () => this.env.spawn(this.nodeId, 'poll', () => this.poll()) });
    }
    for (const held of this.held.values()) {
      const name = `${held.task.jobId}/${held.task.taskId}`;
      if (!held.reporting && now >= held.finishAt && now >= held.retryAt) {
        const how = held.killedBy ? `killed (${held.killedBy})` : `exit ${held.exitCode}`;
        steps.push({ owner, label: `${owner}: ${name} ends, ${how}; report`, run: () => this.env.spawn(this.nodeId, `report ${name}`, () => this.report(held)) });
      }
      if (!held.reporting && now >= held.renewAt && now < held.finishAt) {
        steps.push({ owner, label: `${owner}: renew lease of ${name}`, run: () => this.env.spawn(this.nodeId, `renew ${name}`, () => this.renew(held)) });
      }
    }
    return steps;
  }

  heartbeatDue(now: number): boolean {
    return this.alive && !this.left && !this.heartbeating && now >= this.nextHeartbeatAt;
  }

  /** Heartbeats now; an atomic heartbeat is not a scheduling choice and has no scheduling points. */
  startHeartbeat(atomic: boolean): void {
    this.env.spawn(this.nodeId, 'heartbeat', () => this.heartbeat(atomic));
  }

  /** Changes whenever what the next heartbeat would report changes. */
  reportSignature(): string {
    return `${this.draining}|${[...this.held.keys()].join(',')}`;
  }

  /** What the next heartbeat reports. */
  heartbeatRequest(): HeartbeatRequest {
    return {
      poolId: this.poolId,
      nodeId: this.nodeId,
      isDedicated: this.isDedicated,
      state: this.draining ? 'leavingpool' : this.held.size > 0 ? 'running' : 'idle',
      bootTime: this.bootTime,
      taskSlots: this.taskSlots,
      runningTasks: [...this.held.values()].map(({ task }) => ({ jobId: task.jobId, taskId: task.taskId, dispatchId: task.dispatchId, slots: task.requiredSlots })),
      metrics: { cpuPercent: 0, memoryBytes: 0 },
    };
  }

  nextEventAt(): number | undefined {
    if (!this.alive || this.left) return undefined;
    const times: number[] = [];
    if (!this.heartbeating) times.push(this.nextHeartbeatAt);
    if (this.wantsWork()) {
      for (const name of this.queueNames) {
        const at = this.env.queues.nextVisibleAt(name);
        if (at !== undefined) times.push(Math.max(at, this.nextPollAt));
      }
    }
    for (const held of this.held.values()) {
      if (held.reporting) continue;
      times.push(Math.max(held.finishAt, held.retryAt));
      if (held.renewAt < held.finishAt) times.push(held.renewAt);
    }
    return times.length ? Math.min(...times) : undefined;
  }

  private wantsWork(): boolean {
    return !this.draining && !this.polling && this.usedSlots < this.taskSlots;
  }

  private canPoll(now: number): boolean {
    if (!this.wantsWork() || now < this.nextPollAt) return false;
    return this.queueNames.some((name) => {
      const at = this.env.queues.nextVisibleAt(name);
      return at !== undefined && at <= now;
    });
  }

  private async poll(): Promise<void> {
    this.polling = true;
    try {
      let received: { queue: MemoryWorkQueue; message: QueueMessage } | undefined;
      for (const name of this.queueNames) {
        const queue = this.env.queues.raw(name);
        const [message] = await queue.receive(1, this.env.leaseMs);
        if (message) {
          received = { queue, message };
          break;
        }
      }
      if (!received) return;
      const { queue, message } = received;
      let task: TaskMessage;
      try {
        task = JSON.parse(message.body) as TaskMessage;
      } catch {
        await queue.delete(message);
        return;
      }
      const same = this.held.get(task.dispatchId);
      if (same) {
        // Our own task, whose lease lapsed: keep holding it under the new receipt.
        same.message = message;
        return;
      }
      if (task.requiredSlots > this.taskSlots - this.usedSlots) {
        await queue.extendLease(message, 0);
        this.nextPollAt = this.env.clock.now() + IDLE_POLL_MS;
        return;
      }
      const name = `${task.jobId}/${task.taskId}`;
      this.usedSlots += task.requiredSlots;
      let claim;
      try {
        claim = await this.env.hostCall(`claim ${name} [${task.dispatchId}] for ${this.nodeId}`, (ctx) =>
          claimTask(ctx, { poolId: this.poolId, nodeId: this.nodeId, jobId: task.jobId, taskId: task.taskId, dispatchId: task.dispatchId, bootTime: this.bootTime }),
        );
      } catch {
        // Unreachable: leave the message, it reappears when its lease ends.
        if (this.alive) {
          this.usedSlots -= task.requiredSlots;
          this.nextPollAt = this.env.clock.now() + IDLE_POLL_MS;
        }
        return;
      }
      if (!this.alive) return;
      if (!claim.granted && claim.reason === 'NodeNotUsable') {
        // The task is fine, this node is not: give the message back for another node.
        this.usedSlots -= task.requiredSlots;
        await queue.extendLease(message, 0).catch(() => undefined);
        this.nextPollAt = this.env.clock.now() + NOT_USABLE_BACKOFF_MS;
        return;
      }
      if (!claim.granted) {
        this.usedSlots -= task.requiredSlots;
        this.env.note(`${this.nodeId}: claim of ${name} refused (${claim.reason}); message deleted`);
        await queue.delete(message).catch(() => undefined);
        return;
      }
      const now = this.env.clock.now();
      const profile = this.env.profile(task);
      const limit = task.maxWallClockMs;
      const timedOut = limit !== undefined && profile.durationMs > limit;
      this.held.set(task.dispatchId, {
        task,
        queue,
        message,
        startedAt: now,
        finishAt: now + (timedOut ? limit! : profile.durationMs),
        exitCode: timedOut ? null : profile.exitCode,
        ...(timedOut ? { killedBy: 'maxWallClockTime' as const } : {}),
        renewAt: now + this.env.leaseMs / 2,
        reporting: false,
        retryAt: 0,
      });
    } finally {
      this.polling = false;
    }
  }

  private async renew(held: Held): Promise<void> {
    try {
      held.message = await held.queue.extendLease(held.message, this.env.leaseMs);
    } catch {
      // The lease was lost (the message went to someone else); the report decides what counts.
    }
    held.renewAt = this.env.clock.now() + this.env.leaseMs / 2;
  }

  private async report(held: Held): Promise<void> {
    held.reporting = true;
    const { task } = held;
    const name = `${task.jobId}/${task.taskId}`;
    const request: CompleteRequest = {
      poolId: this.poolId,
      nodeId: this.nodeId,
      jobId: task.jobId,
      taskId: task.taskId,
      dispatchId: task.dispatchId,
      exitCode: held.exitCode,
      startTime: new Date(held.startedAt).toISOString(),
      endTime: new Date(Math.min(held.finishAt, this.env.clock.now())).toISOString(),
      ...(held.killedBy ? { killedBy: held.killedBy } : {}),
    };
    try {
      await this.env.hostCall(`complete ${name} [${task.dispatchId}] from ${this.nodeId}`, async (ctx, services) => {
        // What the agentComplete function does after completeTask.
        const outcome = await completeTask(ctx, request);
        if (outcome.ended) await services.orchestrations.raise(jobInstanceId(request.jobId), { type: 'tasksEnded', ends: [outcome.ended] });
        return outcome;
      });
      if (this.env.responseLost()) {
        this.env.note(`${this.nodeId}: the answer to its report of ${name} is lost; it will report again`);
        throw new Error('response lost');
      }
    } catch {
      if (!this.alive) return;
      held.reporting = false;
      held.retryAt = this.env.clock.now() + REPORT_RETRY_MS;
      return;
    }
    if (!this.alive) return;
    this.held.delete(task.dispatchId);
    this.usedSlots -= task.requiredSlots;
    await held.queue.delete(held.message).catch(() => undefined);
  }

  private async heartbeat(atomic: boolean): Promise<void> {
    this.heartbeating = true;
    let answer: HeartbeatResponse;
    try {
      const request = this.heartbeatRequest();
      answer = await this.env.hostCall(`heartbeat ${this.nodeId}`, (ctx) => heartbeat(ctx, request), atomic);
    } catch {
      if (!this.alive) return;
      this.heartbeating = false;
      this.nextHeartbeatAt = this.env.clock.now() + this.env.heartbeatMs;
      return;
    }
    if (!this.alive) return;
    this.heartbeating = false;
    this.lastAnswer = answer;
    this.nextHeartbeatAt = this.env.clock.now() + Math.max(answer.nextHeartbeatMs, this.env.heartbeatMs);
    await this.obey(answer);
  }

  private async obey(answer: HeartbeatResponse): Promise<void> {
    const now = this.env.clock.now();
    for (const target of answer.kill) {
      const held = this.held.get(target.dispatchId);
      if (held && !held.reporting && held.finishAt > now) {
        this.env.note(`${this.nodeId}: kills ${target.jobId}/${target.taskId}`);
        held.finishAt = now;
        held.exitCode = null;
        held.killedBy = 'terminate';
      }
    }
    if (answer.shutdown && !this.left) {
      this.left = true;
      this.draining = true;
      this.env.note(`${this.nodeId}: shuts down, giving back ${this.held.size} task(s)`);
      for (const held of [...this.held.values()]) {
        if (held.reporting) continue;
        const { task } = held;
        await this.env
          .hostCall(`release ${task.jobId}/${task.taskId} from ${this.nodeId}`, (ctx) =>
            releaseTask(ctx, { poolId: this.poolId, nodeId: this.nodeId, jobId: task.jobId, taskId: task.taskId, dispatchId: task.dispatchId }),
          )
          .catch(() => undefined);
        await held.queue.extendLease(held.message, 0).catch(() => undefined);
        this.held.delete(task.dispatchId);
        this.usedSlots -= task.requiredSlots;
      }
    } else if (answer.drain) {
      this.draining = true;
    }
  }
}
