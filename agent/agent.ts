// The compute-node agent: takes task messages from its pool's queues (highest band first), claims
// each over HTTP, runs it within the node's task slots, reports its end, and heartbeats, obeying
// the answers (kill, drain, shutdown). The same code runs as a local process and on a VM.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { ContainerClient } from '@azure/storage-blob';
import {
  PACK_HOLD_BACK_MS,
  PRIORITY_BANDS,
  SPREAD_HOLD_BACK_MS,
  TASK_OUTPUT_CONTAINER,
  taskOutputBlobName,
  type AgentNodeState,
  type CompleteRequest,
  type HeartbeatResponse,
  type PriorityBand,
  type TaskMessage,
} from '../shared/agent-protocol.js';
import { HoldBack, spreadTakesAtMost, type HoldDecision, type PlacementNews } from '../shared/batch/placement.js';
import { isQueueError } from '../shared/ports/errors.js';
import { Backoff, sleep, Wakeup } from './backoff.js';
import { BandReceiver, MAX_RECEIVE, type ReceivedTask } from './band-receiver.js';
import type { AgentConfig } from './config.js';
import { ControlPlaneClient, DEFAULT_HEARTBEAT_MS } from './control-plane-client.js';
import { LeaseKeeper } from './lease-keeper.js';
import { DEFAULT_LOOK_AHEAD, holdsAhead, LookAhead } from './look-ahead.js';
import { NodeMetricsSampler } from './node-metrics.js';
import { retryWhileUnavailable } from './retry.js';
import { prepareTaskFolder, runCommand, type CommandRun } from './run-command.js';
import { SlotCounter } from './slots.js';
import { runStartTask, type StartTaskRun } from './start-task.js';
import { createStorageClients } from './storage-clients.js';
import { nodeEnvironment, taskEnvironment } from './task-environment.js';
import { RequestTally } from './request-tally.js';
import { TaskOutputFile } from './task-output.js';
import { startLauncher } from './launchers/start-launcher.js';
import type { ProcessLauncher } from './process-launcher.js';
import { terminatedOutcome, type ProcessOutcome } from './task-process.js';
import { WorkReturnedNotices } from './work-returned.js';
import { WorkWatcher } from './work-watcher.js';

export interface AgentTuning {
  /** Idle polling starts at this delay and doubles up to pollMaxMs. */
  pollInitialMs: number;
  pollMaxMs: number;
  /**
   * For this long after the node last had work, idle polls come at least every pollRecentMaxMs:
   * the next stage of a pipeline, or the next job, is picked up at once, while a node idle for
   * longer costs few queue requests.
   */
  recentWorkMs: number;
  pollRecentMaxMs: number;
  /** How often task output is appended to its blobs. */
  outputFlushMs: number;
  /** Waits after a failed claim (control plane unreachable), doubling up to the max. */
  unreachableInitialMs: number;
  unreachableMaxMs: number;
  /** Heartbeat period until the control plane names one. */
  heartbeatMs: number;
  /** How long a leaving agent keeps trying to hand back tasks to an unreachable control plane. */
  releaseTimeoutMs: number;
  /** Messages are held ahead of free slots for tasks expected to start within this long; 0 holds none. */
  lookAheadMs: number;
  /**
   * How long an idle node's work-signal request is held by the control plane (where offered).
   * While the signal works, idle polls of the queues come only every pollMaxMs: they find just
   * what reappears without a send (a message a node handed back, a lost node's lease running out).
   */
  workSignalWaitMs: number;
}

export const DEFAULT_TUNING: AgentTuning = {
  pollInitialMs: 50,
  pollMaxMs: 500,
  recentWorkMs: 10_000,
  pollRecentMaxMs: 100,
  outputFlushMs: 500,
  unreachableInitialMs: 500,
  unreachableMaxMs: 10_000,
  heartbeatMs: DEFAULT_HEARTBEAT_MS,
  releaseTimeoutMs: 10_000,
  lookAheadMs: DEFAULT_LOOK_AHEAD.leadMs,
  workSignalWaitMs: 10_000,
};

/** A message held ahead of the slots for this long, beyond what the node expects to start soon, goes back. */
const WAITING_HOLD_MS = 2_000;
const WAITING_SWEEP_MS = 500;

export type AgentExit = 'shutdown' | 'stopped';

export interface AgentOptions {
  log?: (line: string) => void;
  tuning?: Partial<AgentTuning>;
}

type Phase = 'starting' | 'waitingforstarttask' | 'starttaskfailed' | 'ready' | 'draining' | 'leavingpool';

interface WaitingTask {
  task: TaskMessage;
  band: PriorityBand;
  lease: LeaseKeeper;
  /** When it was received. */
  since: number;
  /** Claimed ahead, while every slot was busy (see claimAhead). */
  claiming?: Claiming;
}

type ClaimOutcome = { retryCount: number; requeueCount: number } | 'refused' | 'notUsable' | 'unreachable';

/** A claim on its way, with the task's folder being made ready meanwhile. */
interface Claiming {
  outcome: Promise<ClaimOutcome>;
  /** The claim was granted: the task counts as running on this node. */
  granted: boolean;
  /** Absent when this node already runs or claims the same task (see beginClaim). */
  prepared: Promise<void> | undefined;
  /** The folder is no longer in use by this claim or its run. */
  done(): void;
}

interface HeldTask {
  task: TaskMessage;
  lease: LeaseKeeper;
  run?: CommandRun;
  /**
   * When it was launched on standby (see stage), until it starts: the launcher starts it in the
   * slot of the next task to end. Until then it takes no slot and counts as claimed ahead.
   */
  stagedSince?: number;
  /** A slot was free for it: asked to start now (see promoteStaged). */
  promoting?: boolean;
  /**
   * The process has ended and its slots are free; the task is held until its end is reported and
   * its message deleted, so a re-delivered message is still recognised as ours.
   */
  ended?: boolean;
}

export class Agent {
  private phase: Phase = 'starting';
  private readonly slots: SlotCounter;
  private readonly held = new Map<string, HeldTask>();
  /** Folders of the tasks this node is claiming or running. */
  private readonly foldersInUse = new Set<string>();
  /** Received messages not started yet (no slots for them so far), highest band first. */
  private readonly waiting: WaitingTask[] = [];
  private readonly lookAhead: LookAhead;
  /** Woken when slots become free or waiting tasks start. */
  private readonly capacityChanged = new Wakeup();
  /** Woken when new work is likely: cuts an idle poll short. */
  private readonly workArrives = new Wakeup();
  private workLikely: () => void = () => undefined;
  private resumeTimer: NodeJS.Timeout | undefined;
  /** The last receive brought as many messages as it asked for: more are probably queued. */
  private queueDeep = false;
  /** When a receive last brought work or a task last ended. */
  private lastWorkAt = 0;
  private readonly nodeEnv = nodeEnvironment(process.env);
  private readonly unreachable: Backoff;
  /** Intake pauses until then after the control plane was unreachable or refused this node. */
  private pauseUntil = 0;
  /** What the last heartbeat's answer said of the pool's other nodes (pack or spread). */
  private placement: PlacementNews = {};
  /** The control plane offers the work signal (the last heartbeat's answer). */
  private workSignalOffered = false;
  private readonly workWatcher: WorkWatcher;
  private readonly workReturned: WorkReturnedNotices;
  /** Whether to leave the message at the front of the queue to another node, and how long for. */
  private readonly holdBack = new HoldBack({ pack: PACK_HOLD_BACK_MS, spread: SPREAD_HOLD_BACK_MS });
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
    private readonly tally: RequestTally | undefined,
    private readonly launcher: ProcessLauncher,
    options: AgentOptions,
  ) {
    this.slots = new SlotCounter(config.taskSlots);
    this.metrics = new NodeMetricsSampler(config.workDir);
    this.tuning = { ...DEFAULT_TUNING, ...options.tuning };
    // At most twice the slots ahead: with tasks ending faster than a receive round trip, the
    // messages in hand must last through the next receive.
    this.lookAhead = new LookAhead({ ...DEFAULT_LOOK_AHEAD, max: Math.min(MAX_RECEIVE, 2 * config.taskSlots), leadMs: this.tuning.lookAheadMs });
    this.unreachable = new Backoff(this.tuning.unreachableInitialMs, this.tuning.unreachableMaxMs);
    this.log = options.log ?? (() => undefined);
    this.workWatcher = new WorkWatcher((after) =>
      this.client.awaitWork({ poolId: config.poolId, nodeId: config.nodeId, ...(after === undefined ? {} : { after }), waitMs: this.tuning.workSignalWaitMs }),
    );
    this.workReturned = new WorkReturnedNotices(() => this.client.workReturned({ poolId: config.poolId, nodeId: config.nodeId }), this.log);
  }

  /** Connects to Storage (creating the pool's queues and the output container if missing). */
  static async create(config: AgentConfig, options: AgentOptions = {}): Promise<Agent> {
    const log = options.log ?? (() => undefined);
    const tally = config.requestCountsDir ? RequestTally.start(config.requestCountsDir, config.nodeId) : undefined;
    const requests = tally?.counter;
    const storage = await createStorageClients(config.storage);
    const receiver = await BandReceiver.open(storage.queues, config.poolId, log, undefined, requests);
    const outputs = storage.blobs.getContainerClient(TASK_OUTPUT_CONTAINER);
    requests?.increment('blob.createContainer');
    await outputs.createIfNotExists();
    await mkdir(config.workDir, { recursive: true });
    const client = new ControlPlaneClient(config.endpoint, config.agentKey, undefined, requests);
    const launcher = await startLauncher(config.launcher, log);
    return new Agent(config, client, receiver, outputs, tally, launcher, options);
  }

  get state(): AgentNodeState {
    if (this.phase === 'ready') return this.running().length > 0 ? 'running' : 'idle';
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
    this.client.close();
    this.tally?.close();
    await this.launcher.close();
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
      if (graceMs > 0 && this.running().length > 0) await Promise.race([this.allSettled(), sleep(graceMs)]);
      for (const held of this.running()) held.run?.kill('release');
      const reportsDeadline = setTimeout(() => this.giveUpReports.abort(), this.tuning.releaseTimeoutMs);
      await this.allSettled();
      clearTimeout(reportsDeadline);
      this.resolveExit(exit);
    })();
    return this.leaving;
  }

  /** Held tasks whose process has not ended yet: these occupy slots. */
  private running(): HeldTask[] {
    return [...this.held.values()].filter((held) => !held.ended && held.stagedSince === undefined);
  }

  /** Held tasks on standby at the launcher, not started yet. */
  private staged(): HeldTask[] {
    return [...this.held.values()].filter((held) => held.stagedSince !== undefined);
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
      this.startTask = runStartTask(this.config, spec, this.launcher, this.client, this.log, this.giveUpReports.signal);
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
    const sweep = setInterval(() => this.trimWaiting(), WAITING_SWEEP_MS);
    this.workLikely = () => {
      // A task of ours just ended: the control plane may be dispatching its dependents now.
      idle.reset();
      this.workArrives.wake();
    };
    try {
      while (!signal.aborted) {
        const wanted = this.wanted();
        if (wanted <= 0) {
          await this.capacityChanged.wait(undefined, signal);
          continue;
        }
        if (this.pauseUntil > Date.now()) {
          await sleep(this.pauseUntil - Date.now(), signal);
          continue;
        }
        let received: ReceivedTask[];
        try {
          const hold = await this.holdingBack(wanted);
          if ('waitMs' in hold) {
            await sleep(hold.waitMs, signal);
            continue;
          }
          const began = performance.now();
          const take = Math.min(wanted, hold.take);
          received = take > 0 ? await this.receiver.receiveUpTo(take, this.config.leaseMs) : [];
          if (received.length > 0) {
            this.lookAhead.received(performance.now() - began);
            this.lastWorkAt = Date.now();
          }
        } catch (error) {
          this.log(`cannot read the pool's queues: ${(error as Error).message}`);
          await sleep(this.unreachable.next(), signal);
          continue;
        }
        this.queueDeep = received.length >= wanted;
        if (received.length === 0) {
          if (this.workSignalOffered && !this.workWatcher.failing) {
            // Every send to the pool wakes this wait; the polls in between find only what came
            // back without one. Nothing is awaited before the wait begins, so no news slips past.
            if (!this.workWatcher.takeNews()) await this.workWatcher.wait(this.tuning.pollMaxMs, signal);
            continue;
          }
          // Woken by a report of ours: the control plane is dispatching now, poll a moment later.
          const recent = Date.now() - this.lastWorkAt < this.tuning.recentWorkMs;
          const delay = recent ? Math.min(idle.next(), this.tuning.pollRecentMaxMs) : idle.next();
          // (Woken because the signal is now offered: straight on to waiting on it.)
          if ((await this.workArrives.wait(delay, signal)) && !this.workSignalOffered) await sleep(this.tuning.pollInitialMs, signal);
          continue;
        }
        idle.reset();
        this.unreachable.reset();
        for (const item of received) this.accept(item);
        this.startWaiting();
      }
    } finally {
      clearInterval(sweep);
      clearTimeout(this.resumeTimer);
      this.workLikely = () => undefined;
      // Taking no more work: what has not started goes back for other nodes.
      this.cancelStaged();
      await Promise.all(this.waiting.splice(0).map((w) => this.returnWaiting(w)));
    }
  }

  /**
   * While holding back (pack, or spread with idle peers): how much longer to leave the messages at
   * the front of the queue to the other nodes, or how many to take now (none when nothing is
   * waiting; any number when not holding back).
   */
  private async holdingBack(wanted: number): Promise<HoldDecision> {
    if (!this.holdBack.holding(this.placement, this.load())) return { take: Number.POSITIVE_INFINITY };
    const front = await this.receiver.front(this.holdBack.looksAt(this.placement, wanted));
    return front.length > 0 ? this.holdBack.decide(front.map((m) => m.messageId), Date.now(), this.placement) : { take: 0 };
  }

  /** Slots in use, and those the received tasks not started yet will take: whether the node is idle, under spread. */
  private load(): number {
    return Math.min(this.config.taskSlots, this.slots.inUse + this.waiting.reduce((sum, w) => sum + w.task.requiredSlots, 0));
  }

  /**
   * How many messages to ask the queues for now: enough to fill the free slots and the look-ahead,
   * and under spread one at a time while this node and another are idle.
   * While messages are in hand, the next receive waits until they fall to half the look-ahead, so
   * receives come in batches rather than one per task.
   */
  private wanted(): number {
    const ahead = this.ahead(Date.now());
    const inHand = this.waiting.length + this.staged().length;
    if (inHand > 0 && inHand > Math.floor(ahead / 2)) return 0;
    return Math.min(MAX_RECEIVE, this.slots.free + ahead - inHand, spreadTakesAtMost(this.load(), this.placement.idlePeers));
  }

  /** Messages to hold beyond the free slots (see `holdsAhead` for when). */
  private ahead(now: number): number {
    return holdsAhead(this.queueDeep, this.placement.idlePeers) ? this.lookAhead.size(now) : 0;
  }

  /** A received message: ours already, impossible here, or work to start when slots allow. */
  private accept(item: ReceivedTask): void {
    const { task } = item;
    const same = this.held.get(task.dispatchId) ?? this.waiting.find((w) => w.task.dispatchId === task.dispatchId);
    if (same) {
      // Our own task, whose lease lapsed (e.g. Storage was unreachable): keep holding it.
      same.lease.adopt(item.message);
      return;
    }
    const lease = new LeaseKeeper(item.queue, item.message, this.config.leaseMs, this.log).start();
    if (task.requiredSlots > this.config.taskSlots) {
      this.track(this.refuseOversized(task, lease));
      return;
    }
    // Higher bands first, in arrival order within a band.
    const rank = PRIORITY_BANDS.indexOf(item.band);
    const at = this.waiting.findIndex((w) => PRIORITY_BANDS.indexOf(w.band) > rank);
    const waiting: WaitingTask = { task, band: item.band, lease, since: Date.now() };
    if (at === -1) this.waiting.push(waiting);
    else this.waiting.splice(at, 0, waiting);
  }

  /**
   * Starts waiting tasks in order while their slots are free. A task needing more slots than are
   * free holds up those behind it, so it is not overtaken for ever by smaller ones.
   */
  private startWaiting(): void {
    if (this.stopTaking.signal.aborted) return;
    const pause = this.pauseUntil - Date.now();
    if (pause > 0) {
      clearTimeout(this.resumeTimer);
      this.resumeTimer = setTimeout(() => this.startWaiting(), pause);
      return;
    }
    let started = this.promoteStaged();
    while (this.waiting.length > 0 && this.waiting[0]!.task.requiredSlots <= this.slots.free) {
      const { task, lease, claiming } = this.waiting.shift()!;
      // Slots are reserved before the claim, and claims run side by side, so intake keeps pace
      // with short tasks instead of waiting a control-plane round trip per task.
      this.slots.take(task.requiredSlots);
      this.lookAhead.began(Date.now());
      this.track(this.claimAndRun(task, lease, claiming));
      started = true;
    }
    if (started) this.capacityChanged.wake();
    this.claimAhead();
    this.stage();
  }

  /**
   * A slot freed other than by an exit the launcher saw (a task that could not start, a claim
   * refused): tasks on standby, queued before any waiting task, start in it now. The slot is
   * taken at once; if an exit started the task first (in its own slot), it is given back.
   */
  private promoteStaged(): boolean {
    let promoted = false;
    for (const held of this.staged()) {
      if (this.slots.free < 1) break;
      if (held.promoting || !held.run) continue;
      this.slots.take(1);
      held.promoting = true;
      promoted = true;
      void held.run.startNow().then((effective) => {
        if (!effective) this.freeSlots(1, false);
      });
    }
    return promoted;
  }

  /**
   * With every slot busy, the first waiting tasks whose claims were granted go to the launcher on
   * standby, one per running task at most: the launcher starts each the moment a task's process
   * exits, in its slot, without waiting for the agent to hear of the exit and ask for the next
   * start (on a loaded machine, two wake-ups of a millisecond or more each). Order is kept: only
   * the head of the waiting list is staged. Tasks needing more than one slot start as before.
   */
  private stage(): void {
    if (!this.launcher.standby || this.stopTaking.signal.aborted || this.pauseUntil > Date.now()) return;
    let staged = this.staged().length;
    const running = this.running().length;
    while (staged < running) {
      const next = this.waiting[0];
      if (!next || next.task.requiredSlots !== 1 || next.task.requiredSlots <= this.slots.free || !next.claiming?.granted) return;
      this.waiting.shift();
      this.track(this.claimAndRun(next.task, next.lease, next.claiming, true));
      staged++;
    }
  }

  /**
   * With every slot busy, the waiting tasks the node expects to start soon (its look-ahead) are
   * claimed now rather than when a slot frees, so each starts the moment one does instead of a
   * control-plane round trip later (on a loaded host that round trip is most of the time a slot
   * stands empty between tasks), and their claims share calls. Their messages are held by this node
   * either way; claiming them only moves the claim earlier. A task claimed here counts as running
   * on this node until it runs, or until it has waited too long and is handed back unstarted
   * (trimWaiting). A fixed few would leave slots empty whenever more than that freed close
   * together.
   */
  private claimAhead(): void {
    const next = this.waiting[0];
    if (!next || this.stopTaking.signal.aborted || this.pauseUntil > Date.now()) return;
    if (next.task.requiredSlots <= this.slots.free) return;
    const expected = Math.min(this.waiting.length, this.ahead(Date.now()) - this.staged().length);
    for (let i = 0; i < expected; i++) {
      const waiting = this.waiting[i]!;
      waiting.claiming ??= this.beginClaim(waiting.task);
    }
  }

  /** Gives back held messages beyond what the node expects to start soon, once they have waited a while. */
  private trimWaiting(): void {
    const now = Date.now();
    const staged = this.staged();
    const keep = this.slots.free + this.ahead(now);
    while (this.waiting.length + staged.length > keep && this.waiting.length > 0 && now - this.waiting[this.waiting.length - 1]!.since >= WAITING_HOLD_MS) {
      this.track(this.returnWaiting(this.waiting.pop()!));
      this.capacityChanged.wake();
    }
    // Then those on standby, newest first: the tasks running in their way turned out long.
    while (staged.length > keep && now - staged[staged.length - 1]!.stagedSince! >= WAITING_HOLD_MS) staged.pop()!.run?.kill('release');
  }

  /** This node may take no work for a while: what it has not started goes back at once. */
  private giveBackWaiting(): void {
    this.cancelStaged();
    for (const waiting of this.waiting.splice(0)) this.track(this.returnWaiting(waiting));
    this.capacityChanged.wake();
  }

  /** Tasks on standby come off it and go back unstarted (one that starts meanwhile is given back like a running one). */
  private cancelStaged(): void {
    for (const held of this.staged()) held.run?.kill('release');
  }

  /** A waiting message goes back to the queue; one claimed ahead is released to the control plane first. */
  private async returnWaiting(waiting: WaitingTask): Promise<void> {
    if (!waiting.claiming) return this.giveBack(waiting.lease);
    if (await this.grantedAhead(waiting, waiting.claiming)) await this.release(waiting, true);
  }

  /** A task claimed ahead that the control plane asked to kill before it started: it ends terminated, unstarted. */
  private async endKilledAhead(waiting: WaitingTask, claiming: Claiming): Promise<void> {
    if (!(await this.grantedAhead(waiting, claiming))) return;
    const now = new Date();
    await this.reportEnd(waiting.task, waiting.lease, terminatedOutcome(now, now));
  }

  /** Waits for the answer to a claim made ahead; the message of one not granted is settled here. Resolves whether the task is this node's. */
  private async grantedAhead({ lease }: WaitingTask, claiming: Claiming): Promise<boolean> {
    const outcome = await claiming.outcome;
    claiming.done();
    if (typeof outcome === 'object') return true;
    await this.settleUngranted(outcome, lease);
    return false;
  }

  /** The message of a claim that was not granted: left to reappear (its lease ends), given back, or deleted. */
  private async settleUngranted(outcome: Exclude<ClaimOutcome, object>, lease: LeaseKeeper): Promise<void> {
    if (outcome === 'unreachable') return lease.stop();
    if (outcome === 'notUsable') return this.giveBack(lease);
    await lease.delete().catch((error: unknown) => this.log(`cannot delete a refused message: ${(error as Error).message}`));
  }

  /** Slots given back: by a task whose process ended, or by a claim that did not go through. */
  private freeSlots(count: number, taskEnded: boolean): void {
    this.slots.give(count);
    if (taskEnded) {
      this.lastWorkAt = Date.now();
      this.lookAhead.ended(this.lastWorkAt);
    }
    this.capacityChanged.wake();
    this.startWaiting();
  }

  /**
   * Claims a task. The folder is made ready while the claim is out, so the task starts one
   * file-system round trip sooner once it is granted; a failure there is met again, and reported,
   * by the run. Not while this node runs or claims the same task: a duplicate message, whose claim
   * will be refused, must not empty the folder of the attempt that is running.
   */
  private beginClaim(task: TaskMessage): Claiming {
    const taskDir = this.taskDirOf(task);
    const early = !this.foldersInUse.has(taskDir);
    let prepared: Promise<void> | undefined;
    if (early) {
      this.foldersInUse.add(taskDir);
      prepared = prepareTaskFolder(taskDir);
      prepared.catch(() => undefined);
    }
    let inUse = early;
    const claiming: Claiming = {
      outcome: this.claim(task),
      granted: false,
      prepared,
      done: () => {
        if (inUse) this.foldersInUse.delete(taskDir);
        inUse = false;
      },
    };
    void claiming.outcome.then((outcome) => {
      claiming.granted = typeof outcome === 'object';
      if (claiming.granted) this.stage();
    });
    return claiming;
  }

  /** With `standby`, the task takes no slot now: the launcher starts it in the slot of the next task to end. */
  private async claimAndRun(task: TaskMessage, lease: LeaseKeeper, claimedAhead?: Claiming, standby = false): Promise<void> {
    const claiming = claimedAhead ?? this.beginClaim(task);
    try {
      await this.runClaimed(task, lease, claiming, standby);
    } finally {
      claiming.done();
    }
  }

  private async runClaimed(task: TaskMessage, lease: LeaseKeeper, claiming: Claiming, standby: boolean): Promise<void> {
    const { prepared } = claiming;
    const claim = await claiming.outcome;
    if (typeof claim !== 'object') {
      if (claim === 'unreachable') {
        this.pauseUntil = Math.max(this.pauseUntil, Date.now() + this.unreachable.next());
      } else if (claim === 'notUsable') {
        this.pauseUntil = Math.max(this.pauseUntil, Date.now() + this.tuning.unreachableMaxMs);
        this.giveBackWaiting();
      }
      if (!standby) this.freeSlots(task.requiredSlots, false);
      return this.settleUngranted(claim, lease);
    }
    const held: HeldTask = { task, lease, ...(standby ? { stagedSince: Date.now() } : {}) };
    this.held.set(task.dispatchId, held);
    await this.runHeld(held, claim.retryCount, claim.retryCount > 0 || claim.requeueCount > 0, prepared);
  }

  private taskDirOf(task: TaskMessage): string {
    return path.join(this.config.workDir, 'tasks', task.jobId, task.taskId);
  }

  private async claim(task: TaskMessage): Promise<ClaimOutcome> {
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

  private async runHeld(held: HeldTask, retryCount: number, earlierAttempts: boolean, prepared: Promise<void> | undefined): Promise<void> {
    const { task } = held;
    const taskDir = this.taskDirOf(task);
    // A task on standby takes its slot when it starts: the slot of a task whose process exited,
    // which handed it over instead of freeing it.
    let holdsSlots = held.stagedSince === undefined;
    /** The slots this task holds that are free once it is over (those its exit handed on are not). */
    let toFree = task.requiredSlots;
    try {
      held.run = runCommand({
        launcher: this.launcher,
        commandLine: task.commandLine,
        taskDir,
        ...(prepared ? { prepared } : {}),
        env: (workingDir) =>
          taskEnvironment(
            this.nodeEnv,
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
        followOutput: (file, localPath) =>
          TaskOutputFile.follow(this.outputs, taskOutputBlobName(task.jobId, task.taskId, file), localPath, this.tuning.outputFlushMs, this.log, earlierAttempts, this.tally?.counter),
        ...(task.maxWallClockMs !== undefined ? { maxWallClockMs: task.maxWallClockMs } : {}),
        killGroupOnExit: true,
        ...(held.stagedSince !== undefined ? { standby: true } : {}),
        slots: task.requiredSlots,
      });
      if (!holdsSlots) {
        void held.run.started.then((started) => {
          if (!started) return;
          holdsSlots = true;
          held.stagedSince = undefined;
        });
      }
      let outcome: ProcessOutcome;
      try {
        outcome = await held.run.exited;
      } catch (error) {
        const now = new Date();
        outcome = { exitCode: null, startTime: now, endTime: now, failure: { category: 'servererror', code: 'NodeError', message: `The node could not run the task: ${(error as Error).message}` } };
      }
      holdsSlots = holdsSlots || (await held.run.started);
      held.stagedSince = undefined;
      // Slots this task's exit gave to a task on standby are that task's now.
      toFree = task.requiredSlots - (outcome.handed ?? 0);
      // A task that ended on its own just before the agent came to kill it is reported, not given back.
      if (outcome.killedBy === 'release') {
        // One taken off standby takes no slot while it goes back.
        if (!holdsSlots) held.ended = true;
        await held.run.done.catch(() => undefined);
        await this.release(held, outcome.unstarted === true);
      } else {
        // The process is gone, so its slots are free: the next task need not wait for the rest
        // of its output to be copied, this report's round trip or the message delete.
        held.ended = true;
        if (holdsSlots) this.freeSlots(toFree, true);
        // The output is complete before the end is reported.
        await held.run.done.catch(() => undefined);
        await this.reportEnd(task, held.lease, outcome);
      }
    } finally {
      this.held.delete(task.dispatchId);
      held.stagedSince = undefined;
      if (!held.ended && holdsSlots) this.freeSlots(toFree, false);
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
    this.workLikely();
    await lease.delete().catch((error: unknown) => this.log(`cannot delete the message of ${task.jobId}/${task.taskId}: ${(error as Error).message}`));
  }

  /** Hands a claimed task back to the control plane (a requeue, unless it never started here) and its message back to the queue. */
  private async release(held: HeldTask, unstarted = false): Promise<void> {
    const { task } = held;
    try {
      await retryWhileUnavailable(
        () =>
          this.client.release({
            poolId: this.config.poolId,
            nodeId: this.config.nodeId,
            jobId: task.jobId,
            taskId: task.taskId,
            dispatchId: task.dispatchId,
            ...(unstarted ? { unstarted } : {}),
          }),
        { log: this.log, what: `release of ${task.jobId}/${task.taskId}`, signal: this.giveUpReports.signal },
      );
    } catch (error) {
      this.log(`release of ${task.jobId}/${task.taskId} not delivered: ${(error as Error).message}`);
    }
    await this.giveBack(held.lease);
  }

  private async giveBack(lease: LeaseKeeper): Promise<void> {
    const visible = await lease.giveBack().then(
      () => true,
      (error: unknown) => {
        // The message still reappears once its lease ends.
        if (!isQueueError(error)) throw error;
        this.log(`cannot make message ${lease.current.messageId} visible: ${error.message}`);
        return false;
      },
    );
    if (visible && this.workSignalOffered) {
      const notice = this.workReturned.given();
      if (notice) this.track(notice);
    }
  }

  /** A task needing more slots than the node has can never run here: report it as failed. */
  private async refuseOversized(task: TaskMessage, lease: LeaseKeeper): Promise<void> {
    const claim = await this.claim(task);
    if (typeof claim !== 'object') return this.settleUngranted(claim, lease);
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
          runningTasks: this.running().map(({ task }) => ({ jobId: task.jobId, taskId: task.taskId, dispatchId: task.dispatchId, slots: task.requiredSlots })),
          claimedAhead: this.claimedAhead().map((task) => ({ jobId: task.jobId, taskId: task.taskId, dispatchId: task.dispatchId })),
          metrics: await this.metrics.sample(),
          ...(poisoned.length ? { poisoned } : {}),
        });
        this.receiver.acknowledgePoisonReports(poisoned.length);
        failures = 0;
        delay = Math.min(60_000, Math.max(100, answer.nextHeartbeatMs));
        this.placement = { holdBack: answer.holdBack === true, ...(answer.idlePeers ? { idlePeers: answer.idlePeers } : {}) };
        this.holdBack.answered();
        const offered = answer.workSignal === true;
        // An idle poll already waiting may be long: let the loop start waiting on the signal now.
        if (offered && !this.workSignalOffered) this.workArrives.wake();
        this.workSignalOffered = offered;
        this.obey(answer);
      } catch (error) {
        if (failures++ % 20 === 0) this.log(`heartbeat failed: ${(error as Error).message}`);
      }
      await sleep(delay, signal);
    }
  }

  /** Tasks granted to this node ahead of a free slot: reported, so kill requests for them reach it. */
  private claimedAhead(): TaskMessage[] {
    return [...this.staged().map(({ task }) => task), ...this.waiting.filter((w) => w.claiming?.granted).map(({ task }) => task)];
  }

  private obey(answer: HeartbeatResponse): void {
    for (const target of answer.kill) {
      const matches = (task: TaskMessage) => task.jobId === target.jobId && task.taskId === target.taskId;
      const held = this.held.get(target.dispatchId);
      if (held && !held.ended && matches(held.task)) {
        this.log(`terminating ${target.jobId}/${target.taskId}`);
        held.run?.kill('terminate');
        continue;
      }
      const ahead = this.waiting.findIndex((w) => w.claiming && w.task.dispatchId === target.dispatchId && matches(w.task));
      if (ahead !== -1) {
        this.log(`terminating ${target.jobId}/${target.taskId} before it started`);
        const [waiting] = this.waiting.splice(ahead, 1);
        this.track(this.endKilledAhead(waiting!, waiting!.claiming!));
        this.capacityChanged.wake();
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
