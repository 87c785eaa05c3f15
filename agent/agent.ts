// The compute-node agent: takes task messages from its pool's queues (highest band first), claims
// each over HTTP, runs it within the node's task slots, reports its end, and heartbeats, obeying
// the answers (kill, drain, shutdown). The same code runs as a local process and on a VM.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { ContainerClient } from '@azure/storage-blob';
import {
  TASK_OUTPUT_CONTAINER,
  taskOutputBlobName,
  type AgentNodeState,
  type CompleteRequest,
  type HeartbeatResponse,
  type TaskMessage,
} from '../shared/agent-protocol.js';
import { isQueueError } from '../shared/ports/errors.js';
import { Backoff, sleep } from './backoff.js';
import { BandReceiver, type ReceivedTask } from './band-receiver.js';
import type { AgentConfig } from './config.js';
import { ControlPlaneClient, DEFAULT_HEARTBEAT_MS } from './control-plane-client.js';
import { LeaseKeeper } from './lease-keeper.js';
import { NodeMetricsSampler } from './node-metrics.js';
import { retryWhileUnavailable } from './retry.js';
import { runCommand, type CommandRun } from './run-command.js';
import { SlotCounter } from './slots.js';
import { runStartTask, type StartTaskRun } from './start-task.js';
import { createStorageClients } from './storage-clients.js';
import { taskEnvironment } from './task-environment.js';
import { TaskOutputFile } from './task-output.js';
import type { ProcessOutcome } from './task-process.js';

export interface AgentTuning {
  /** Idle polling starts at this delay and doubles up to pollMaxMs. */
  pollInitialMs: number;
  pollMaxMs: number;
  /** How often task output is appended to its blobs. */
  outputFlushMs: number;
  /** Waits after a failed claim (control plane unreachable), doubling up to the max. */
  unreachableInitialMs: number;
  unreachableMaxMs: number;
  /** Heartbeat period until the control plane names one. */
  heartbeatMs: number;
  /** How long a leaving agent keeps trying to hand back tasks to an unreachable control plane. */
  releaseTimeoutMs: number;
}

export const DEFAULT_TUNING: AgentTuning = {
  pollInitialMs: 50,
  pollMaxMs: 500,
  outputFlushMs: 500,
  unreachableInitialMs: 500,
  unreachableMaxMs: 10_000,
  heartbeatMs: DEFAULT_HEARTBEAT_MS,
  releaseTimeoutMs: 10_000,
};

export type AgentExit = 'shutdown' | 'stopped';

export interface AgentOptions {
  log?: (line: string) => void;
  tuning?: Partial<AgentTuning>;
}

type Phase = 'starting' | 'waitingforstarttask' | 'starttaskfailed' | 'ready' | 'draining' | 'leavingpool';

interface HeldTask {
  task: TaskMessage;
  lease: LeaseKeeper;
  run?: CommandRun;
}

export class Agent {
  private phase: Phase = 'starting';
  private readonly slots: SlotCounter;
  private readonly held = new Map<string, HeldTask>();
  /** Intake pauses until then after the control plane was unreachable or refused this node. */
  private pauseUntil = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stopTaking = new AbortController();
  private readonly stopHeartbeats = new AbortController();
  private readonly giveUpReports = new AbortController();
  private readonly bootTime = new Date().toISOString();
  private readonly metrics: NodeMetricsSampler;
  private readonly tuning: AgentTuning;
  private readonly log: (line: string) => void;
  private startTask: StartTaskRun | undefined;
  private workDone: Promise<void> = Promise.resolve();
  private leaving: Promise<void> | undefined;
  private resolveExit!: (exit: AgentExit) => void;
  private readonly exit = new Promise<AgentExit>((resolve) => (this.resolveExit = resolve));

  private constructor(
    readonly config: AgentConfig,
    private readonly client: ControlPlaneClient,
    private readonly receiver: BandReceiver,
    private readonly outputs: ContainerClient,
    options: AgentOptions,
  ) {
    this.slots = new SlotCounter(config.taskSlots);
    this.metrics = new NodeMetricsSampler(config.workDir);
    this.tuning = { ...DEFAULT_TUNING, ...options.tuning };
    this.log = options.log ?? (() => undefined);
  }

  /** Connects to Storage (creating the pool's queues and the output container if missing). */
  static async create(config: AgentConfig, options: AgentOptions = {}): Promise<Agent> {
    const log = options.log ?? (() => undefined);
    const storage = createStorageClients(config.storage);
    const receiver = await BandReceiver.open(storage.queues, config.poolId, log);
    const outputs = storage.blobs.getContainerClient(TASK_OUTPUT_CONTAINER);
    await outputs.createIfNotExists();
    await mkdir(config.workDir, { recursive: true });
    return new Agent(config, new ControlPlaneClient(config.endpoint, config.agentKey), receiver, outputs, options);
  }

  get state(): AgentNodeState {
    if (this.phase === 'ready') return this.held.size > 0 ? 'running' : 'idle';
    if (this.phase === 'draining') return 'leavingpool';
    return this.phase;
  }

  /** Works until told to shut down (heartbeat answer) or stopped; resolves with which. */
  async run(): Promise<AgentExit> {
    const heartbeats = this.heartbeatLoop();
    this.workDone = this.startThenWork().catch((error: unknown) => {
      // Not expected; the agent stops taking work but keeps heartbeating so the node is visible.
      this.log(`the work loop failed: ${(error as Error).stack ?? error}`);
      this.stopTaking.abort();
    });
    const exit = await this.exit;
    await this.workDone;
    this.stopHeartbeats.abort();
    await heartbeats;
    return exit;
  }

  /**
   * What SIGTERM does: take no more work, give back what has not started, let running tasks
   * finish for up to `graceMs`, then kill and give back the rest. run() then resolves 'stopped'.
   */
  stop(graceMs = this.config.shutdownGraceMs): Promise<void> {
    return this.leave('stopped', graceMs);
  }

  private leave(exit: AgentExit, graceMs: number): Promise<void> {
    this.leaving ??= (async () => {
      this.log(`leaving the pool (${exit})`);
      this.phase = 'leavingpool';
      this.stopTaking.abort();
      this.startTask?.run.kill('release');
      await this.workDone;
      if (graceMs > 0 && this.held.size > 0) await Promise.race([this.allSettled(), sleep(graceMs)]);
      for (const held of this.held.values()) held.run?.kill('release');
      const reportsDeadline = setTimeout(() => this.giveUpReports.abort(), this.tuning.releaseTimeoutMs);
      await this.allSettled();
      clearTimeout(reportsDeadline);
      this.resolveExit(exit);
    })();
    return this.leaving;
  }

  private async allSettled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => this.log(`unexpected: ${(error as Error).stack ?? error}`));
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }

  private async startThenWork(): Promise<void> {
    const spec = this.config.startTask;
    if (spec) {
      this.startTask = runStartTask(this.config, spec, this.client, this.log, this.giveUpReports.signal);
      if (spec.waitForSuccess) {
        this.phase = 'waitingforstarttask';
        const succeeded = await this.startTask.result;
        if (this.phase !== 'waitingforstarttask') return;
        if (!succeeded) {
          // A node whose start task failed takes no work; it stays until told to leave.
          this.phase = 'starttaskfailed';
          return;
        }
      }
    }
    if (this.phase === 'starting' || this.phase === 'waitingforstarttask') this.phase = 'ready';
    await this.workLoop();
  }

  private async workLoop(): Promise<void> {
    const signal = this.stopTaking.signal;
    const idle = new Backoff(this.tuning.pollInitialMs, this.tuning.pollMaxMs);
    const unreachable = new Backoff(this.tuning.unreachableInitialMs, this.tuning.unreachableMaxMs);
    while (!signal.aborted) {
      if (!(await this.slots.waitFor(1, signal))) break;
      if (this.pauseUntil > Date.now()) {
        await sleep(this.pauseUntil - Date.now(), signal);
        continue;
      }
      let received: ReceivedTask[];
      try {
        received = await this.receiver.receiveUpTo(this.slots.free, this.config.leaseMs);
      } catch (error) {
        this.log(`cannot read the pool's queues: ${(error as Error).message}`);
        await sleep(unreachable.next(), signal);
        continue;
      }
      if (received.length === 0) {
        await sleep(idle.next(), signal);
        continue;
      }
      idle.reset();
      unreachable.reset();
      for (const [i, item] of received.entries()) {
        const { task } = item;
        const same = this.held.get(task.dispatchId);
        if (same) {
          // Our own running task, whose lease lapsed (e.g. Storage was unreachable): keep holding it.
          same.lease.adopt(item.message);
          continue;
        }
        const lease = new LeaseKeeper(item.queue, item.message, this.config.leaseMs, this.log).start();
        if (task.requiredSlots > this.config.taskSlots) {
          this.track(this.refuseOversized(task, lease));
          continue;
        }
        // The task waits, holding its message, until enough slots are free.
        if (signal.aborted || !(await this.slots.waitFor(task.requiredSlots, signal))) {
          await Promise.all([lease, ...received.slice(i + 1).map((r) => new LeaseKeeper(r.queue, r.message, this.config.leaseMs, this.log))].map((l) => this.giveBack(l)));
          return;
        }
        // Slots are reserved before the claim, and claims run side by side, so intake keeps pace
        // with short tasks instead of waiting a control-plane round trip per task.
        this.slots.take(task.requiredSlots);
        this.track(this.claimAndRun(task, lease, unreachable));
      }
    }
  }

  private async claimAndRun(task: TaskMessage, lease: LeaseKeeper, unreachable: Backoff): Promise<void> {
    const claim = await this.claim(task);
    if (claim === 'unreachable' || claim === 'notUsable' || claim === 'refused') {
      this.slots.give(task.requiredSlots);
      if (claim === 'unreachable') {
        // Leave the message: it reappears when its lease ends.
        await lease.stop();
        this.pauseUntil = Math.max(this.pauseUntil, Date.now() + unreachable.next());
      } else if (claim === 'notUsable') {
        await this.giveBack(lease);
        this.pauseUntil = Math.max(this.pauseUntil, Date.now() + this.tuning.unreachableMaxMs);
      } else {
        await lease.delete().catch((error: unknown) => this.log(`cannot delete a refused message: ${(error as Error).message}`));
      }
      return;
    }
    const held: HeldTask = { task, lease };
    this.held.set(task.dispatchId, held);
    await this.runHeld(held, claim.retryCount, claim.retryCount > 0 || claim.requeueCount > 0);
  }

  private async claim(task: TaskMessage): Promise<{ retryCount: number; requeueCount: number } | 'refused' | 'notUsable' | 'unreachable'> {
    try {
      const answer = await this.client.claim({
        poolId: this.config.poolId,
        nodeId: this.config.nodeId,
        jobId: task.jobId,
        taskId: task.taskId,
        dispatchId: task.dispatchId,
        bootTime: this.bootTime,
      });
      if (answer.granted) return { retryCount: answer.retryCount, requeueCount: answer.requeueCount };
      this.log(`claim of ${task.jobId}/${task.taskId} refused: ${answer.reason}`);
      // The task is fine, this node is not: another node should take it.
      return answer.reason === 'NodeNotUsable' ? 'notUsable' : 'refused';
    } catch (error) {
      this.log(`cannot claim ${task.jobId}/${task.taskId}: ${(error as Error).message}`);
      return 'unreachable';
    }
  }

  private async runHeld(held: HeldTask, retryCount: number, earlierAttempts: boolean): Promise<void> {
    const { task } = held;
    const taskDir = path.join(this.config.workDir, 'tasks', task.jobId, task.taskId);
    try {
      held.run = runCommand({
        commandLine: task.commandLine,
        taskDir,
        env: (workingDir) =>
          taskEnvironment(
            process.env,
            {
              poolId: this.config.poolId,
              nodeId: this.config.nodeId,
              isDedicated: this.config.isDedicated,
              nodeRootDir: this.config.workDir,
              jobId: task.jobId,
              taskId: task.taskId,
              taskDir,
              workingDir,
              retryCount,
            },
            task.environment,
          ),
        openOutput: (file, localPath) =>
          TaskOutputFile.open(this.outputs, taskOutputBlobName(task.jobId, task.taskId, file), localPath, this.tuning.outputFlushMs, this.log, earlierAttempts),
        ...(task.maxWallClockMs !== undefined ? { maxWallClockMs: task.maxWallClockMs } : {}),
        killLeftoversOnExit: true,
      });
      let outcome: ProcessOutcome;
      try {
        outcome = await held.run.done;
      } catch (error) {
        const now = new Date();
        outcome = { exitCode: null, startTime: now, endTime: now, failure: { category: 'servererror', code: 'NodeError', message: `The node could not run the task: ${(error as Error).message}` } };
      }
      // A task that ended on its own just before the agent came to kill it is reported, not given back.
      if (outcome.killedBy === 'release') await this.release(held);
      else await this.reportEnd(task, held.lease, outcome);
    } finally {
      this.held.delete(task.dispatchId);
      this.slots.give(task.requiredSlots);
    }
  }

  private async reportEnd(task: TaskMessage, lease: LeaseKeeper, outcome: ProcessOutcome): Promise<void> {
    const report: CompleteRequest = {
      poolId: this.config.poolId,
      nodeId: this.config.nodeId,
      jobId: task.jobId,
      taskId: task.taskId,
      dispatchId: task.dispatchId,
      exitCode: outcome.exitCode,
      startTime: outcome.startTime.toISOString(),
      endTime: outcome.endTime.toISOString(),
      ...(outcome.failure ? { failure: outcome.failure } : {}),
      ...(outcome.killedBy && outcome.killedBy !== 'release' ? { killedBy: outcome.killedBy } : {}),
    };
    try {
      await retryWhileUnavailable(() => this.client.complete(report), { log: this.log, what: `report of ${task.jobId}/${task.taskId}`, signal: this.giveUpReports.signal });
    } catch (error) {
      this.log(`report of ${task.jobId}/${task.taskId} not delivered: ${(error as Error).message}`);
      // Unreported: leave the message so the task is not lost.
      await lease.stop();
      return;
    }
    await lease.delete().catch((error: unknown) => this.log(`cannot delete the message of ${task.jobId}/${task.taskId}: ${(error as Error).message}`));
  }

  private async release(held: HeldTask): Promise<void> {
    const { task } = held;
    try {
      await retryWhileUnavailable(
        () => this.client.release({ poolId: this.config.poolId, nodeId: this.config.nodeId, jobId: task.jobId, taskId: task.taskId, dispatchId: task.dispatchId }),
        { log: this.log, what: `release of ${task.jobId}/${task.taskId}`, signal: this.giveUpReports.signal },
      );
    } catch (error) {
      this.log(`release of ${task.jobId}/${task.taskId} not delivered: ${(error as Error).message}`);
    }
    await this.giveBack(held.lease);
  }

  private async giveBack(lease: LeaseKeeper): Promise<void> {
    await lease.giveBack().catch((error: unknown) => {
      // The message still reappears once its lease ends.
      if (!isQueueError(error)) throw error;
      this.log(`cannot make message ${lease.current.messageId} visible: ${error.message}`);
    });
  }

  /** A task needing more slots than the node has can never run here: report it as failed. */
  private async refuseOversized(task: TaskMessage, lease: LeaseKeeper): Promise<void> {
    const claim = await this.claim(task);
    if (claim === 'unreachable') return lease.stop();
    if (claim === 'notUsable') return this.giveBack(lease);
    if (claim !== 'refused') {
      const now = new Date();
      await this.reportEnd(task, lease, {
        exitCode: null,
        startTime: now,
        endTime: now,
        failure: {
          category: 'usererror',
          code: 'TaskRequiredSlotsExceedNodeSlots',
          message: `The task needs ${task.requiredSlots} slots; nodes of pool ${this.config.poolId} have ${this.config.taskSlots}`,
        },
      });
      return;
    }
    await lease.delete().catch(() => undefined);
  }

  private async heartbeatLoop(): Promise<void> {
    const signal = this.stopHeartbeats.signal;
    let failures = 0;
    while (!signal.aborted) {
      let delay = this.tuning.heartbeatMs;
      const poisoned = this.receiver.pendingPoisonReports();
      try {
        const answer = await this.client.heartbeat({
          poolId: this.config.poolId,
          nodeId: this.config.nodeId,
          isDedicated: this.config.isDedicated,
          state: this.state,
          bootTime: this.bootTime,
          taskSlots: this.config.taskSlots,
          runningTasks: [...this.held.values()].map(({ task }) => ({ jobId: task.jobId, taskId: task.taskId, dispatchId: task.dispatchId, slots: task.requiredSlots })),
          metrics: await this.metrics.sample(),
          ...(poisoned.length ? { poisoned } : {}),
        });
        this.receiver.acknowledgePoisonReports(poisoned.length);
        failures = 0;
        delay = Math.min(60_000, Math.max(100, answer.nextHeartbeatMs));
        this.obey(answer);
      } catch (error) {
        if (failures++ % 20 === 0) this.log(`heartbeat failed: ${(error as Error).message}`);
      }
      await sleep(delay, signal);
    }
  }

  private obey(answer: HeartbeatResponse): void {
    for (const target of answer.kill) {
      const held = this.held.get(target.dispatchId);
      if (held && held.task.jobId === target.jobId && held.task.taskId === target.taskId) {
        this.log(`terminating ${target.jobId}/${target.taskId}`);
        held.run?.kill('terminate');
      }
    }
    if (answer.shutdown) void this.leave('shutdown', 0);
    else if (answer.drain && (this.phase === 'ready' || this.phase === 'starting' || this.phase === 'waitingforstarttask')) {
      this.log('draining: taking no more work');
      this.phase = 'draining';
      this.stopTaking.abort();
    }
  }
}
