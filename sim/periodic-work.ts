// The control plane's periodic work in the simulated world: the pool-maintenance timer, and the
// agents' heartbeats as far as the simulator decides how they run. A pass or heartbeat that is
// provably quiet (quiet-work.ts) is not offered as a scheduling choice: a quiet heartbeat runs
// atomically, a quiet maintenance pass is skipped. With `verify` on, every quiet verdict is
// checked against the real services instead (the pass runs anyway and must change nothing).
import type { AppContext } from '../shared/app/context.js';
import { nodeKey, poolKey, type NodeDoc } from '../shared/app/documents.js';
import { markSilentNodes } from '../shared/app/node-service.js';
import { handleSilentNodes, listPools, reconcilePool } from '../shared/app/pool-service.js';
import type { Clock } from '../local-host/contracts.js';
import { ThreadAbandoned, type Step } from './kernel.js';
import type { SimAgent } from './models/sim-agent.js';
import type { SimScaleSets } from './models/sim-scale-sets.js';
import { providerCallsIdle } from './process-state.js';
import { heartbeatIsQuiet, maintenanceIsQuiet } from './quiet-work.js';

/** How often the poolMaintenance timer fires (functions/maintenance.ts: every two seconds). */
export const MAINTENANCE_MS = 2000;

export interface PeriodicWorld {
  clock: Clock;
  scaleSets: SimScaleSets;
  /** The store and provider as the simulator reads them: no scheduling points, no faults. */
  direct(): AppContext;
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

export class PeriodicWork {
  private busy = false;
  private nextAt = 0;
  /** A pass ran in this host's life: silence is counted from the first one (node-health.ts). */
  private ran = false;

  constructor(
    private readonly world: PeriodicWorld,
    private readonly verify: boolean,
  ) {}

  /** A (re)started host fires its timer at once and knows nothing of earlier passes. */
  hostStarted(): void {
    this.busy = false;
    this.nextAt = this.world.clock.now();
    this.ran = false;
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
   * Runs the quiet heartbeats that are due, atomically, and skips a due maintenance pass that
   * would find nothing to do; returns settled.
   */
  async runQuiet(): Promise<void> {
    const now = this.world.clock.now();
    const started: { agent: SimAgent; poolId: string; before: NodeDoc }[] = [];
    for (const agent of this.world.agents()) {
      if (!agent.heartbeatDue(now)) continue;
      const request = agent.heartbeatRequest();
      const node = await this.node(request.nodeId, request.poolId);
      const pool = await this.world.direct().pools.read(poolKey(request.poolId), poolKey(request.poolId));
      if (!heartbeatIsQuiet(request, node, pool?.item)) continue;
      this.world.note(`agent ${agent.nodeId}: quiet heartbeat`);
      agent.startHeartbeat(true);
      started.push({ agent, poolId: request.poolId, before: node! });
    }
    if (started.length) await this.world.settle();
    if (this.verify) for (const s of started) await this.checkHeartbeat(s.agent, s.poolId, s.before);
    if (this.ran && !this.busy && now >= this.nextAt && (await this.maintenanceQuiet(now))) {
      this.nextAt = now + MAINTENANCE_MS;
      if (this.verify) await this.checkMaintenance();
    }
  }

  private runMaintenance(): void {
    this.busy = true;
    this.ran = true;
    const { world } = this;
    world
      .timerCall('timer poolMaintenance', (ctx) => maintenancePass(ctx, (line) => world.note(line)))
      .catch((err: unknown) => {
        if (!(err instanceof ThreadAbandoned)) world.note(`poolMaintenance failed: ${(err as Error).message}`);
      })
      .finally(() => {
        this.busy = false;
        this.nextAt = world.clock.now() + MAINTENANCE_MS;
      });
  }

  private async maintenanceQuiet(now: number): Promise<boolean> {
    const direct = this.world.direct();
    const idle = providerCallsIdle();
    for (const { item: pool } of (await direct.pools.queryAll()).items) {
      const nodes = (await direct.nodes.query(pool.id)).items.map((n) => n.item);
      const vms = [...this.world.scaleSets.vms.values()].filter((vm) => vm.poolId.toLowerCase() === pool.id);
      if (!maintenanceIsQuiet({ pool, nodes, vms }, now, idle)) return false;
    }
    return true;
  }

  private async node(nodeId: string, poolId: string): Promise<NodeDoc | undefined> {
    return (await this.world.direct().nodes.read(nodeKey(nodeId), poolKey(poolId)))?.item;
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

  /** Runs the skipped pass anyway, with no scheduling points: it must change nothing. */
  private async checkMaintenance(): Promise<void> {
    const snapshot = async () => {
      const direct = this.world.direct();
      const pools = (await direct.pools.queryAll()).items;
      const nodes = (await direct.nodes.queryAll()).items;
      return JSON.stringify({ pools, nodes, vms: [...this.world.scaleSets.vms.values()], idle: providerCallsIdle() });
    };
    const before = await snapshot();
    await maintenancePass(this.world.direct(), (line) => this.world.fail(`a quiet maintenance pass failed: ${line}`));
    const after = await snapshot();
    if (after !== before) this.world.fail(`a quiet maintenance pass changed state: ${before} -> ${after}`);
  }
}
