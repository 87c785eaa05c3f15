// The control plane's periodic work in the simulated world: the pool-maintenance and autoscale
// timers, and the agents' heartbeats as far as the simulator decides how they run. Work that is
// provably quiet (quiet-work.ts) is not offered as a scheduling choice: a quiet heartbeat runs
// atomically, a quiet maintenance pass or autoscale tick is skipped. With `verify` on, every
// quiet verdict is checked against the real services (the pass runs anyway and must change
// nothing).
import type { AppContext } from '../shared/app/context.js';
import { nodeKey, poolKey, type NodeDoc } from '../shared/app/documents.js';
import { autoScaleTick } from '../shared/app/autoscale-service.js';
import { markSilentNodes } from '../shared/app/node-service.js';
import { handleSilentNodes, listPools, reconcilePool } from '../shared/app/pool-service.js';
import type { Clock } from '../local-host/contracts.js';
import { ThreadAbandoned, type Step } from './kernel.js';
import type { SimAgent } from './models/sim-agent.js';
import type { SimScaleSets } from './models/sim-scale-sets.js';
import { providerCallsIdle } from './process-state.js';
import { autoScaleDueAt, heartbeatIsQuiet, maintenanceIsQuiet } from './quiet-work.js';

/** How often the poolMaintenance timer fires (functions/maintenance.ts: every two seconds). */
export const MAINTENANCE_MS = 2000;
/** How often the poolAutoScale timer fires (functions/autoscale.ts: every second). */
export const AUTOSCALE_TICK_MS = 1000;

export interface PeriodicWorld {
  clock: Clock;
  scaleSets: SimScaleSets;
  /** The store and provider as the simulator reads them: no scheduling points, no faults. */
  direct(): AppContext;
  /** As direct(), but reads hand out the stored documents themselves: for looking only. */
  peek(): AppContext;
  /** Changes whenever the store or the instances change (a verdict on the same state stands). */
  stateVersion(): string;
  /** Messages in every queue (verify mode only). */
  queuedMessages(): number;
  agents(): Iterable<SimAgent>;
  /** Runs the call on a timer thread of the current host; rejects if the host is down or dies. */
  timerCall(label: string, call: (ctx: AppContext) => Promise<void>): Promise<void>;
  note(line: string): void;
  /** Lets every runnable thread run until it blocks or ends. */
  settle(): Promise<void>;
  /** A quiet verdict was wrong (verify mode only). */
  fail(message: string): void;
}

/** What the poolMaintenance timer function (functions/maintenance.ts) does on each firing. */
export async function maintenancePass(ctx: AppContext, note: (line: string) => void): Promise<void> {
  for (const pool of await listPools(ctx)) {
    try {
      const silent = await markSilentNodes(ctx, pool.item.poolId);
      if (silent.length) await handleSilentNodes(ctx, pool.item.poolId, silent);
      await reconcilePool(ctx, pool.item.poolId);
    } catch (err) {
      note(`poolMaintenance: pool ${pool.item.poolId}: ${(err as Error).message}`);
    }
  }
}

/** What the poolAutoScale timer function (functions/autoscale.ts) does on each firing. */
export async function autoScalePass(ctx: AppContext, note: (line: string) => void): Promise<void> {
  const outcome = await autoScaleTick(ctx, (poolId) => reconcilePool(ctx, poolId).catch((err: unknown) => note(`reconcile ${poolId}: ${(err as Error).message}`)));
  for (const failure of outcome.failed) note(`poolAutoScale: pool ${failure.poolId}: ${failure.error}`);
}

export class PeriodicWork {
  private busy = false;
  private nextAt = 0;
  /** A pass ran in this host's life: silence is counted from the first one (node-health.ts). */
  private ran = false;
  /** The autoscale timer, when some pool is autoscaled; it fires at once on a host start. */
  private readonly autoScale?: { busy: boolean; nextAt: number; lastAt: number };
  /**
   * Work found not quiet, with the state it was judged on. Until that state changes it stays an
   * ordinary step without being judged again while it waits to be chosen (a stale "not quiet"
   * costs a choice, never soundness).
   */
  private readonly loud = new Map<object | string, string>();
  private readonly verify: boolean;

  constructor(
    private readonly world: PeriodicWorld,
    options: { autoScale: boolean; verify: boolean },
  ) {
    this.verify = options.verify;
    if (options.autoScale) this.autoScale = { busy: false, nextAt: 0, lastAt: 0 };
  }

  /** A (re)started host fires its timers at once and knows nothing of earlier passes. */
  hostStarted(): void {
    const now = this.world.clock.now();
    this.busy = false;
    this.nextAt = now;
    this.ran = false;
    if (this.autoScale) Object.assign(this.autoScale, { busy: false, nextAt: now, lastAt: now - AUTOSCALE_TICK_MS });
  }

  /** A pool document changed: the autoscale timer looks again at its next firing. */
  poolWritten(): void {
    const timer = this.autoScale;
    if (timer && !timer.busy) timer.nextAt = Math.min(timer.nextAt, timer.lastAt + AUTOSCALE_TICK_MS);
  }

  /** The autoscale tick, when due and not provably quiet, as a scheduling choice. */
  autoScaleStep(now: number): Step | undefined {
    const timer = this.autoScale;
    if (!timer || timer.busy || now < timer.nextAt) return undefined;
    return { owner: 'timer poolAutoScale', label: 'timer: poolAutoScale fires', run: () => this.runAutoScale(timer) };
  }

  nextAutoScaleAt(): number | undefined {
    return this.autoScale && !this.autoScale.busy ? this.autoScale.nextAt : undefined;
  }

  /** The maintenance pass, when due and not provably quiet, as a scheduling choice. */
  maintenanceStep(now: number): Step | undefined {
    if (this.busy || now < this.nextAt) return undefined;
    return { owner: 'timer poolMaintenance', label: 'timer: poolMaintenance fires', run: () => this.runMaintenance() };
  }

  nextMaintenanceAt(): number | undefined {
    return this.busy ? undefined : this.nextAt;
  }

  /**
   * Runs the quiet heartbeats that are due, atomically, and skips a due maintenance pass or
   * autoscale tick that would find nothing to do; returns settled.
   */
  async runQuiet(): Promise<void> {
    const now = this.world.clock.now();
    let known: string | undefined;
    const version = () => (known ??= this.world.stateVersion());
    const judged = (work: object | string, on = version()) => this.loud.get(work) === on;
    const loud = (work: object | string, on = version()) => void this.loud.set(work, on);
    const started: { agent: SimAgent; poolId: string; before: NodeDoc }[] = [];
    for (const agent of this.world.agents()) {
      if (!agent.heartbeatDue(now)) continue;
      // What the agent would report is part of the verdict: it changes with no store write.
      const on = `${version()}|${agent.reportSignature()}`;
      if (judged(agent, on)) continue;
      const request = agent.heartbeatRequest();
      const node = await this.node(request.nodeId, request.poolId);
      const pool = await this.world.peek().pools.read(poolKey(request.poolId), poolKey(request.poolId));
      if (!heartbeatIsQuiet(request, node, pool?.item)) {
        loud(agent, on);
        continue;
      }
      this.world.note(`agent ${agent.nodeId}: quiet heartbeat`);
      agent.startHeartbeat(true);
      started.push({ agent, poolId: request.poolId, before: node! });
    }
    if (started.length) {
      await this.world.settle();
      known = undefined; // the heartbeats wrote
    }
    if (this.verify) for (const s of started) await this.checkHeartbeat(s.agent, s.poolId, s.before);
    if (this.ran && !this.busy && now >= this.nextAt && !judged('maintenance')) {
      if (await this.maintenanceQuiet(now)) {
        this.nextAt = now + MAINTENANCE_MS;
        if (this.verify) await this.checkQuiet('maintenance pass', (ctx, note) => maintenancePass(ctx, note));
      } else loud('maintenance');
    }
    const timer = this.autoScale;
    if (timer && !timer.busy && now >= timer.nextAt && !judged('autoscale')) {
      const dueAt = await this.autoScaleDueAt();
      if (dueAt > now) {
        timer.lastAt = now;
        // Verifying, every tick the jump would pass over is judged (and checked) on its own.
        timer.nextAt = this.verify ? now + AUTOSCALE_TICK_MS : Math.max(now + AUTOSCALE_TICK_MS, dueAt);
        if (this.verify) await this.checkQuiet('autoscale tick', (ctx, note) => autoScalePass(ctx, note));
      } else loud('autoscale');
    }
  }

  private runAutoScale(timer: NonNullable<PeriodicWork['autoScale']>): void {
    timer.busy = true;
    this.runTimerFunction('poolAutoScale', autoScalePass, () => {
      timer.busy = false;
      timer.lastAt = this.world.clock.now();
      timer.nextAt = timer.lastAt + AUTOSCALE_TICK_MS;
    });
  }

  /** Runs a timer function's pass as the host would; a failure is noted, never thrown. */
  private runTimerFunction(name: string, pass: (ctx: AppContext, note: (line: string) => void) => Promise<void>, done: () => void): void {
    const { world } = this;
    world
      .timerCall(`timer ${name}`, (ctx) => pass(ctx, (line) => world.note(line)))
      .catch((err: unknown) => {
        if (!(err instanceof ThreadAbandoned)) world.note(`${name} failed: ${(err as Error).message}`);
      })
      .finally(done);
  }

  /** The earliest time the autoscale timer has something to do for some pool. */
  private async autoScaleDueAt(): Promise<number> {
    let at = Number.POSITIVE_INFINITY;
    for (const { item } of (await this.world.peek().pools.queryAll()).items) at = Math.min(at, autoScaleDueAt(item) ?? at);
    return at;
  }

  private runMaintenance(): void {
    this.busy = true;
    this.ran = true;
    this.runTimerFunction('poolMaintenance', maintenancePass, () => {
      this.busy = false;
      this.nextAt = this.world.clock.now() + MAINTENANCE_MS;
    });
  }

  private async maintenanceQuiet(now: number): Promise<boolean> {
    const peek = this.world.peek();
    const idle = providerCallsIdle();
    for (const { item: pool } of (await peek.pools.queryAll()).items) {
      const nodes = (await peek.nodes.query(pool.id)).items.map((n) => n.item);
      const vms = [...this.world.scaleSets.vms.values()].filter((vm) => vm.poolId.toLowerCase() === pool.id);
      if (!maintenanceIsQuiet({ pool, nodes, vms }, now, idle)) return false;
    }
    return true;
  }

  private async node(nodeId: string, poolId: string): Promise<NodeDoc | undefined> {
    return (await this.world.peek().nodes.read(nodeKey(nodeId), poolKey(poolId)))?.item;
  }

  /**
   * After the atomic heartbeat has run: the node's document changed in lastHeartbeatAt alone, and
   * the answer (unless an injected fault lost it) asked nothing of the agent.
   */
  private async checkHeartbeat(agent: SimAgent, poolId: string, before: NodeDoc): Promise<void> {
    const after = await this.node(agent.nodeId, poolId);
    const strip = (doc: NodeDoc | undefined) => JSON.stringify(doc && { ...doc, lastHeartbeatAt: undefined });
    if (strip(after) !== strip(before)) this.world.fail(`a quiet heartbeat of ${agent.nodeId} changed its node: ${strip(before)} -> ${strip(after)}`);
    const answer = agent.lastAnswer;
    const heard = after?.lastHeartbeatAt !== before.lastHeartbeatAt;
    if (heard && answer && (answer.kill.length > 0 || answer.drain || answer.shutdown)) {
      this.world.fail(`a quiet heartbeat of ${agent.nodeId} was answered with orders: ${JSON.stringify(answer)}`);
    }
  }

  /**
   * Runs the skipped pass anyway, with no scheduling points: it must write nothing to the store
   * (not even the same document again), send nothing and leave the instances as they were.
   */
  private async checkQuiet(what: string, pass: (ctx: AppContext, note: (line: string) => void) => Promise<void>): Promise<void> {
    const snapshot = () => `${this.world.stateVersion()} ${this.world.queuedMessages()} ${JSON.stringify([...this.world.scaleSets.vms.values()])}`;
    const before = snapshot();
    await pass(this.world.direct(), (line) => this.world.fail(`a quiet ${what} failed: ${line}`));
    const after = snapshot();
    if (after !== before) this.world.fail(`a quiet ${what} changed state: ${before} -> ${after}`);
  }
}
