// A whole fnbatch control plane in virtual time: memory store and queues, the model provider, the
// real services (job submission, dispatch, claims, completions, heartbeats, autoscale, reconciler),
// the two timers as the Functions host would run them, and agents modelled by direct calls.
import { priorityBand, type TaskMessage } from '../../../shared/agent-protocol.js';
import { MemoryDocumentStore } from '../../../shared/adapters/memory-document-store.js';
import { MemoryWorkQueue } from '../../../shared/adapters/memory-work-queue.js';
import { appContext, setAppContext, type AppContext } from '../../../shared/app/context.js';
import { poolKey, type PoolDoc, type TaskDoc } from '../../../shared/app/documents.js';
import { autoScaleTick, runAutoScale, settleAutoScaleRequests } from '../../../shared/app/autoscale-service.js';
import type { JobOrchestrations } from '../../../shared/app/job-events.js';
import { createJob, type Services } from '../../../shared/app/job-service.js';
import { heartbeat, markSilentNodes } from '../../../shared/app/node-service.js';
import { createPool, handleSilentNodes, reconcilePool } from '../../../shared/app/pool-service.js';
import { claimTask, completeTask, dispatchTasks, releaseTask } from '../../../shared/app/task-lifecycle.js';
import type { QueueMessage } from '../../../shared/ports/work-queue.js';
import { ModelScaleSetProvider } from './model-provider.js';
import { VirtualClock } from '../../../local-host/virtual-clock.js';

export const POOL = 'autopool';
const LEASE_MS = 60_000;
const SLICE_MS = 1_000;

interface Held {
  message: QueueMessage;
  task: TaskMessage;
  finishAt: number;
}

export interface WorldOptions {
  provisioningMs?: number;
  taskMs?: number;
  taskSlotsPerNode?: number;
}

/** What happened to tasks, as the agents saw it. */
export interface Ledger {
  /** Accepted completions per task id. */
  completions: Map<string, number>;
  /** Tasks a node stopped before they finished (kill, or handed back at shutdown). */
  stopped: { taskId: string; nodeId: string; why: 'kill' | 'release' | 'lost' }[];
  /** Completions a node reported that the control plane refused. */
  refused: { taskId: string; nodeId: string }[];
}

class ModelAgent {
  readonly held = new Map<string, Held>();
  draining = false;
  exited = false;
  frozen = false;
  private readonly bootTime: string;

  constructor(
    private readonly world: World,
    readonly nodeId: string,
    readonly isDedicated: boolean,
  ) {
    this.bootTime = new Date(world.clock.now()).toISOString();
  }

  async tick(): Promise<void> {
    if (this.exited || this.frozen) return;
    const { ctx, clock, ledger } = this.world;
    const queue = await ctx.queue(POOL, priorityBand(0));
    for (const [dispatchId, held] of this.held) {
      if (held.finishAt > clock.now()) {
        held.message = await queue.extendLease(held.message, LEASE_MS).catch(() => held.message);
        continue;
      }
      await this.complete(held, 0);
      this.held.delete(dispatchId);
    }
    const answer = await heartbeat(ctx, {
      poolId: POOL,
      nodeId: this.nodeId,
      isDedicated: this.isDedicated,
      state: this.draining ? 'leavingpool' : this.held.size ? 'running' : 'idle',
      bootTime: this.bootTime,
      taskSlots: this.world.slots,
      runningTasks: [...this.held.values()].map((h) => ({ jobId: h.task.jobId, taskId: h.task.taskId, dispatchId: h.task.dispatchId, slots: 1 })),
      metrics: { cpuPercent: this.held.size ? 90 : 5, memoryBytes: 1e9 },
    });
    for (const kill of answer.kill) {
      const held = this.held.get(kill.dispatchId);
      if (!held) continue;
      ledger.stopped.push({ taskId: held.task.taskId, nodeId: this.nodeId, why: 'kill' });
      await this.complete(held, null, 'terminate');
      this.held.delete(kill.dispatchId);
    }
    if (answer.shutdown) {
      for (const held of this.held.values()) {
        ledger.stopped.push({ taskId: held.task.taskId, nodeId: this.nodeId, why: 'release' });
        await releaseTask(ctx, { poolId: POOL, nodeId: this.nodeId, jobId: held.task.jobId, taskId: held.task.taskId, dispatchId: held.task.dispatchId });
        await queue.extendLease(held.message, 0).catch(() => undefined);
      }
      this.held.clear();
      this.exited = true;
      return;
    }
    if (answer.drain) this.draining = true;
    if (this.draining) return;
    const free = this.world.slots - this.held.size;
    if (free <= 0) return;
    for (const message of await queue.receive(free, LEASE_MS)) {
      const task = JSON.parse(message.body) as TaskMessage;
      const claim = await claimTask(ctx, { poolId: POOL, nodeId: this.nodeId, jobId: task.jobId, taskId: task.taskId, dispatchId: task.dispatchId });
      if (claim.granted) this.held.set(task.dispatchId, { message, task, finishAt: clock.now() + this.world.taskMs });
      else if (claim.reason === 'NodeNotUsable') await queue.extendLease(message, 0).catch(() => undefined);
      else await queue.delete(message).catch(() => undefined);
    }
  }

  /** The node died: what it held is simply gone (its messages reappear when their leases end). */
  lose(): void {
    for (const held of this.held.values()) this.world.ledger.stopped.push({ taskId: held.task.taskId, nodeId: this.nodeId, why: 'lost' });
    this.held.clear();
    this.exited = true;
  }

  async complete(held: Held, exitCode: number | null, killedBy?: 'terminate'): Promise<void> {
    const { ctx, clock, ledger } = this.world;
    const at = new Date(clock.now()).toISOString();
    const outcome = await completeTask(ctx, {
      poolId: POOL,
      nodeId: this.nodeId,
      jobId: held.task.jobId,
      taskId: held.task.taskId,
      dispatchId: held.task.dispatchId,
      exitCode,
      startTime: at,
      endTime: at,
      ...(killedBy ? { killedBy } : {}),
    });
    if (outcome.accepted) ledger.completions.set(held.task.taskId, (ledger.completions.get(held.task.taskId) ?? 0) + 1);
    else ledger.refused.push({ taskId: held.task.taskId, nodeId: this.nodeId });
    const queue = await ctx.queue(POOL, priorityBand(0));
    await queue.delete(held.message).catch(() => undefined);
  }
}

const noOrchestrations: JobOrchestrations = {
  async start() {},
  async raise() {},
  async terminate() {},
};

export class World {
  readonly clock = new VirtualClock(Date.UTC(2030, 0, 1, 12, 0, 0));
  readonly provider: ModelScaleSetProvider;
  readonly agents = new Map<string, ModelAgent>();
  readonly ledger: Ledger = { completions: new Map(), stopped: [], refused: [] };
  readonly taskMs: number;
  readonly slots: number;
  ctx!: AppContext;
  services!: Services;
  /** Called at every slice, before the agents run (fault injection). */
  onSlice?: (world: World) => Promise<void> | void;

  constructor(options: WorldOptions = {}) {
    this.provider = new ModelScaleSetProvider(this.clock, options.provisioningMs ?? 20_000);
    this.taskMs = options.taskMs ?? 20_000;
    this.slots = options.taskSlotsPerNode ?? 1;
  }

  static async create(options: WorldOptions = {}): Promise<World> {
    const world = new World(options);
    const store = new MemoryDocumentStore();
    const queues = new Map<string, MemoryWorkQueue>();
    setAppContext({
      store,
      queueFactory: async (name) => {
        let queue = queues.get(name);
        if (!queue) queues.set(name, (queue = new MemoryWorkQueue(name, world.clock)));
        return queue;
      },
      scaleSets: async () => world.provider,
      now: () => world.clock.now(),
    });
    world.ctx = await appContext();
    world.services = { ctx: world.ctx, orchestrations: noOrchestrations };
    return world;
  }

  /** Creates an autoscaled pool and evaluates its formula, as the pools API does. */
  async createAutoscaledPool(formula: string, interval = 'PT15M'): Promise<void> {
    await createPool(this.ctx, {
      id: POOL,
      vmSize: 'Standard_D2s_v5',
      taskSlotsPerNode: this.slots,
      enableAutoScale: true,
      autoScaleFormula: formula,
      autoScaleEvaluationInterval: interval,
    });
    await runAutoScale(this.ctx, POOL);
    await reconcilePool(this.ctx, POOL);
  }

  /** Submits a job of `count` independent tasks and queues them, as the job's orchestration would. */
  async submitJob(jobId: string, count: number): Promise<string[]> {
    const ids = Array.from({ length: count }, (_, i) => `t${String(i).padStart(4, '0')}`);
    await createJob(this.services, { id: jobId, poolInfo: { poolId: POOL }, tasks: ids.map((id) => ({ id, commandLine: 'work' })) });
    await dispatchTasks(this.ctx, jobId, ids);
    await this.flush();
    return ids;
  }

  async pool(): Promise<PoolDoc> {
    return (await this.ctx.pools.read(poolKey(POOL), poolKey(POOL)))!.item;
  }

  async tasks(jobId: string): Promise<TaskDoc[]> {
    return (await this.ctx.tasks.query(jobId.toLowerCase())).items.map((t) => t.item);
  }

  /** Runs the world for `ms` of virtual time: agents every second, the autoscale timer every second, maintenance every two. */
  async run(ms: number, until?: () => Promise<boolean>): Promise<void> {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) {
      this.clock.advance(SLICE_MS);
      await this.flush();
      await this.onSlice?.(this);
      this.syncAgents();
      for (const agent of this.agents.values()) await agent.tick();
      await autoScaleTick(this.ctx, (id) => reconcilePool(this.ctx, id));
      if ((this.clock.now() / SLICE_MS) % 2 === 0) {
        const silent = await markSilentNodes(this.ctx, POOL);
        await handleSilentNodes(this.ctx, POOL, silent);
        await reconcilePool(this.ctx, POOL);
      }
      await settleAutoScaleRequests();
      await this.flush();
      if (until && (await until())) return;
    }
  }

  /** Lets background work (growth completions, deletions, requests) run. */
  async flush(): Promise<void> {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  }

  /** An agent process per running instance; instances that are gone or evicted take theirs with them. */
  private syncAgents(): void {
    for (const node of this.provider.running()) {
      if (!this.agents.has(node.nodeId)) this.agents.set(node.nodeId, new ModelAgent(this, node.nodeId, node.priority === 'dedicated'));
    }
    for (const [id, agent] of this.agents) {
      const node = this.provider.nodes.get(id);
      if (!node || node.state === 'evicted') {
        agent.lose();
        this.agents.delete(id);
      }
    }
  }

  agent(nodeId: string): ModelAgent | undefined {
    return this.agents.get(nodeId);
  }
}
