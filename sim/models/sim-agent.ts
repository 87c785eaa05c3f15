// A node agent as a model that follows shared/agent-protocol.ts: it takes task messages from its
// pool's queues (highest band first), claims each before "running" it, runs it for a duration and
// with an exit code drawn from the seed, reports its end and deletes the message, keeps the lease
// alive while it runs, heartbeats and obeys the answers (kill, drain, shutdown). A crash loses
// everything it held; its messages come back when their leases end. Like the real agent, while its
// slots are full it may take a message and claim it ahead: the task starts when a slot frees, is
// listed apart in heartbeats, ends terminated without starting when a kill names it, and goes back
// unstarted (no requeue counted) when it has waited too long or the node leaves. In a pack pool it
// holds back from new work when its heartbeat's answer says so; in a spread pool, while it runs
// tasks and the answer says another node runs none.
import {
  PACK_HOLD_BACK_MS,
  PRIORITY_BANDS,
  SPREAD_HOLD_BACK_MS,
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
import { HoldBack } from '../../shared/batch/placement.js';
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
  /** Slots it takes: none for a task claimed ahead that was killed before it started. */
  slots: number;
  startedAt: number;
  finishAt: number;
  exitCode: number | null;
  killedBy?: 'terminate' | 'maxWallClockTime';
  renewAt: number;
  reporting: boolean;
  retryAt: number;
}

/** A task claimed ahead, waiting for a slot. */
interface Ahead {
  task: TaskMessage;
  queue: MemoryWorkQueue;
  message: QueueMessage;
  claimedAt: number;
  renewAt: number;
  /** A call about it (the hand-back) is out. */
  busy: boolean;
  /** A hand-back that did not get through is tried again from then. */
  retryAt: number;
}

const REPORT_RETRY_MS = 500;
/** Tasks claimed ahead at most (the real agent's look-ahead is larger; two exercise the protocol). */
const AHEAD_MAX = 2;
/** A task claimed ahead that has waited this long with the slots still full may go back (the real agent's WAITING_HOLD_MS). */
const AHEAD_HOLD_MS = 2_000;
const IDLE_POLL_MS = 500;
/** What the real agent waits after a NodeNotUsable refusal (its unreachableMaxMs). */
const NOT_USABLE_BACKOFF_MS = 10_000;

export class SimAgent {
  alive = true;
  /** Left the pool on a shutdown answer: the VM remains until the control plane deletes it. */
  left = false;
  private draining = false;
  private readonly held = new Map<string, Held>();
  private readonly ahead = new Map<string, Ahead>();
  private readonly claimingAhead = new Set<string>();
  private usedSlots = 0;
  private polling = false;
  private nextPollAt: number;
  private heartbeating = false;
  /** The answer to the latest heartbeat that got one. */
  lastAnswer: HeartbeatResponse | undefined;
  /** Whether to leave the message at the front of the queue to another node, and how long for. */
  private readonly holdBack = new HoldBack({ pack: PACK_HOLD_BACK_MS, spread: SPREAD_HOLD_BACK_MS });
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
    return this.held.has(dispatchId) || this.ahead.has(dispatchId);
  }

  /** Claimed ahead, or being claimed ahead: running in the store, in no slot yet. */
  waitsAhead(dispatchId: string): boolean {
    return this.ahead.has(dispatchId) || this.claimingAhead.has(dispatchId);
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
      steps.push({ owner, label: `${owner}: receive a task`, run: () => this.env.spawn(this.nodeId, 'poll', () => this.poll(false)) });
    }
    if (this.canClaimAhead(now)) {
      steps.push({ owner, label: `${owner}: receive a task and claim it ahead`, run: () => this.env.spawn(this.nodeId, 'poll ahead', () => this.poll(true)) });
    }
    for (const waiting of this.ahead.values()) {
      if (waiting.busy) continue;
      const name = `${waiting.task.jobId}/${waiting.task.taskId}`;
      // A draining node gives back what it has not started, as the real agent does when it stops taking work.
      if (this.fits(waiting.task) && !this.draining) {
        steps.push({ owner, label: `${owner}: start ${name}, claimed ahead`, run: () => this.startAhead(waiting) });
      } else if ((this.draining || now - waiting.claimedAt >= AHEAD_HOLD_MS) && now >= waiting.retryAt) {
        const handBack = () => {
          waiting.busy = true;
          this.env.spawn(this.nodeId, `hand back ${name}`, () => this.handBack(waiting));
        };
        steps.push({ owner, label: `${owner}: hand back ${name}, claimed ahead, unstarted`, run: handBack });
      }
      if (now >= waiting.renewAt) {
        steps.push({ owner, label: `${owner}: renew lease of ${name}, claimed ahead`, run: () => this.env.spawn(this.nodeId, `renew ${name}`, () => this.renewAhead(waiting)) });
      }
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
    return `${this.draining}|${[...this.held.keys()].join(',')}|${[...this.ahead.keys()].join(',')}`;
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
      runningTasks: [...this.held.values()].filter((h) => h.slots > 0).map(({ task }) => ({ jobId: task.jobId, taskId: task.taskId, dispatchId: task.dispatchId, slots: task.requiredSlots })),
      ...(this.ahead.size ? { claimedAhead: [...this.ahead.values()].map(({ task }) => ({ jobId: task.jobId, taskId: task.taskId, dispatchId: task.dispatchId })) } : {}),
      metrics: { cpuPercent: 0, memoryBytes: 0 },
    };
  }

  nextEventAt(): number | undefined {
    if (!this.alive || this.left) return undefined;
    const now = this.env.clock.now();
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
    for (const waiting of this.ahead.values()) {
      if (waiting.busy) continue;
      times.push(waiting.renewAt);
      if (this.fits(waiting.task) && !this.draining) times.push(now);
      else times.push(Math.max(waiting.retryAt, this.draining ? now : waiting.claimedAt + AHEAD_HOLD_MS));
    }
    if (this.wantsAhead()) {
      for (const name of this.queueNames) {
        const at = this.env.queues.nextVisibleAt(name);
        if (at !== undefined) times.push(Math.max(at, this.nextPollAt));
      }
    }
    return times.length ? Math.min(...times) : undefined;
  }

  /** A free slot goes to a task claimed ahead first, as the real agent starts its waiting tasks before it receives more. */
  private wantsWork(): boolean {
    return !this.draining && !this.polling && this.usedSlots < this.taskSlots && ![...this.ahead.values()].some((w) => this.fits(w.task));
  }

  /** Slots full: a message may be taken and claimed ahead. */
  private wantsAhead(): boolean {
    return !this.draining && !this.polling && this.usedSlots >= this.taskSlots && this.ahead.size < AHEAD_MAX;
  }

  private fits(task: TaskMessage): boolean {
    return task.requiredSlots <= this.taskSlots - this.usedSlots;
  }

  private canClaimAhead(now: number): boolean {
    if (!this.wantsAhead() || now < this.nextPollAt) return false;
    return this.queueNames.some((name) => {
      const at = this.env.queues.nextVisibleAt(name);
      return at !== undefined && at <= now;
    });
  }

  private canPoll(now: number): boolean {
    if (!this.wantsWork() || now < this.nextPollAt) return false;
    return this.queueNames.some((name) => {
      const at = this.env.queues.nextVisibleAt(name);
      return at !== undefined && at <= now;
    });
  }

  /**
   * Holding back, as the real agent does: the front message is left to the node pack favours
   * until this node has seen it there for PACK_HOLD_BACK_MS, or under spread one message to each
   * idle node for SPREAD_HOLD_BACK_MS (a message beyond those is taken at once). True while it
   * still waits.
   */
  private async holdingBack(): Promise<boolean> {
    const news = this.lastAnswer ?? {};
    if (!this.holdBack.holding(news, this.usedSlots)) return false;
    for (const name of this.queueNames) {
      const front = await this.env.queues.raw(name).peek(this.holdBack.looksAt(news, 1));
      if (front.length === 0) continue;
      const now = this.env.clock.now();
      const decision = this.holdBack.decide(front.map((m) => m.messageId), now, news);
      if (!('waitMs' in decision)) return false;
      this.nextPollAt = now + decision.waitMs;
      return true;
    }
    return false;
  }

  /** Takes one message; `ahead`: every slot is busy, and a granted claim waits for one to free. */
  private async poll(ahead: boolean): Promise<void> {
    this.polling = true;
    try {
      if (await this.holdingBack()) return;
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
      const same = this.held.get(task.dispatchId) ?? this.ahead.get(task.dispatchId);
      if (same) {
        // Our own task, whose lease lapsed: keep holding it under the new receipt.
        same.message = message;
        return;
      }
      if (ahead ? task.requiredSlots > this.taskSlots : !this.fits(task)) {
        await queue.extendLease(message, 0);
        this.nextPollAt = this.env.clock.now() + IDLE_POLL_MS;
        return;
      }
      const name = `${task.jobId}/${task.taskId}`;
      const slots = ahead ? 0 : task.requiredSlots;
      this.usedSlots += slots;
      let claim;
      if (ahead) this.claimingAhead.add(task.dispatchId);
      try {
        claim = await this.env.hostCall(`claim ${name} [${task.dispatchId}] for ${this.nodeId}`, (ctx) =>
          claimTask(ctx, { poolId: this.poolId, nodeId: this.nodeId, jobId: task.jobId, taskId: task.taskId, dispatchId: task.dispatchId, bootTime: this.bootTime }),
        );
      } catch {
        // Unreachable: leave the message, it reappears when its lease ends. A claim ahead whose
        // answer never came may have been granted: it stays counted as waiting ahead, not running.
        if (this.alive) {
          this.usedSlots -= slots;
          this.nextPollAt = this.env.clock.now() + IDLE_POLL_MS;
        }
        return;
      }
      this.claimingAhead.delete(task.dispatchId);
      if (!this.alive) return;
      if (!claim.granted && claim.reason === 'NodeNotUsable') {
        // The task is fine, this node is not: give the message back for another node.
        this.usedSlots -= slots;
        await queue.extendLease(message, 0).catch(() => undefined);
        this.nextPollAt = this.env.clock.now() + NOT_USABLE_BACKOFF_MS;
        return;
      }
      if (!claim.granted) {
        this.usedSlots -= slots;
        this.env.note(`${this.nodeId}: claim of ${name} refused (${claim.reason}); message deleted`);
        await queue.delete(message).catch(() => undefined);
        return;
      }
      const now = this.env.clock.now();
      if (ahead) this.ahead.set(task.dispatchId, { task, queue, message, claimedAt: now, renewAt: now + this.env.leaseMs / 2, busy: false, retryAt: 0 });
      else this.run(task, queue, message);
    } finally {
      this.polling = false;
    }
  }

  /** The claimed task starts now, in slots already counted as used. */
  private run(task: TaskMessage, queue: MemoryWorkQueue, message: QueueMessage): void {
    const now = this.env.clock.now();
    const profile = this.env.profile(task);
    const limit = task.maxWallClockMs;
    const timedOut = limit !== undefined && profile.durationMs > limit;
    this.held.set(task.dispatchId, {
      task,
      queue,
      message,
      slots: task.requiredSlots,
      startedAt: now,
      finishAt: now + (timedOut ? limit! : profile.durationMs),
      exitCode: timedOut ? null : profile.exitCode,
      ...(timedOut ? { killedBy: 'maxWallClockTime' as const } : {}),
      renewAt: now + this.env.leaseMs / 2,
      reporting: false,
      retryAt: 0,
    });
  }

  private startAhead(waiting: Ahead): void {
    this.ahead.delete(waiting.task.dispatchId);
    this.usedSlots += waiting.task.requiredSlots;
    this.run(waiting.task, waiting.queue, waiting.message);
  }

  /** Ends a task claimed ahead as terminated, without starting it: reported like any end, holding no slot. */
  private endUnstarted(waiting: Ahead): void {
    this.ahead.delete(waiting.task.dispatchId);
    const now = this.env.clock.now();
    this.held.set(waiting.task.dispatchId, {
      task: waiting.task,
      queue: waiting.queue,
      message: waiting.message,
      slots: 0,
      startedAt: now,
      finishAt: now,
      exitCode: null,
      killedBy: 'terminate',
      renewAt: now + this.env.leaseMs / 2,
      reporting: false,
      retryAt: 0,
    });
  }

  /** Gives a task claimed ahead back to the control plane unstarted (no requeue counted), then its message to the queue. */
  private async handBack(waiting: Ahead): Promise<void> {
    const { task } = waiting;
    const released = await this.release(task, true);
    if (!this.alive) return;
    if (!released) {
      waiting.busy = false;
      waiting.retryAt = this.env.clock.now() + REPORT_RETRY_MS;
      return;
    }
    this.ahead.delete(task.dispatchId);
    await waiting.queue.extendLease(waiting.message, 0).catch(() => undefined);
  }

  private async release(task: TaskMessage, unstarted: boolean): Promise<boolean> {
    return this.env
      .hostCall(`release ${task.jobId}/${task.taskId}${unstarted ? ' unstarted' : ''} from ${this.nodeId}`, (ctx) =>
        releaseTask(ctx, { poolId: this.poolId, nodeId: this.nodeId, jobId: task.jobId, taskId: task.taskId, dispatchId: task.dispatchId, ...(unstarted ? { unstarted } : {}) }),
      )
      .then(
        () => true,
        () => false,
      );
  }

  private async renewAhead(waiting: Ahead): Promise<void> {
    try {
      waiting.message = await waiting.queue.extendLease(waiting.message, this.env.leaseMs);
    } catch {
      // The lease was lost; the claim decides who runs it.
    }
    waiting.renewAt = this.env.clock.now() + this.env.leaseMs / 2;
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
    this.usedSlots -= held.slots;
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
    this.holdBack.answered();
    this.nextHeartbeatAt = this.env.clock.now() + Math.max(answer.nextHeartbeatMs, this.env.heartbeatMs);
    await this.obey(answer);
  }

  private async obey(answer: HeartbeatResponse): Promise<void> {
    const now = this.env.clock.now();
    for (const target of answer.kill) {
      const waiting = this.ahead.get(target.dispatchId);
      if (waiting && !waiting.busy) {
        this.env.note(`${this.nodeId}: ends ${target.jobId}/${target.taskId}, claimed ahead, unstarted`);
        this.endUnstarted(waiting);
        continue;
      }
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
      this.env.note(`${this.nodeId}: shuts down, giving back ${this.held.size + this.ahead.size} task(s)`);
      for (const waiting of [...this.ahead.values()]) {
        if (waiting.busy) continue;
        await this.release(waiting.task, true);
        await waiting.queue.extendLease(waiting.message, 0).catch(() => undefined);
        this.ahead.delete(waiting.task.dispatchId);
      }
      for (const held of [...this.held.values()]) {
        if (held.reporting) continue;
        const { task } = held;
        await this.release(task, false);
        await held.queue.extendLease(held.message, 0).catch(() => undefined);
        this.held.delete(task.dispatchId);
        this.usedSlots -= held.slots;
      }
    } else if (answer.drain) {
      this.draining = true;
    }
  }
}
