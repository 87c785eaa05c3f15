// The simulated system: the real job orchestration on the local Durable backend (stepped, one
// ready work item at a time), the real services on per-thread contexts, and models of everything
// outside (store, queues, VMs, agents, clock). It offers the steps that could happen next, runs
// the periodic work that would change nothing without making it a choice (periodic-work.ts), and
// injects faults (fault-injector.ts); the runner chooses.
import { PRIORITY_BANDS, poolQueueName, type TaskMessage } from '../shared/agent-protocol.js';
import { forgetJobProgress } from '../shared/app/job-progress.js';
import { setAppContext, type AppContext, type AppContextParts } from '../shared/app/context.js';
import { JOB_EVENT, JOB_ORCHESTRATOR, type JobOrchestrations } from '../shared/app/job-events.js';
import { createJob, type Services } from '../shared/app/job-service.js';
import { runAutoScale } from '../shared/app/autoscale-service.js';
import { createPool } from '../shared/app/pool-service.js';
import { DurableApiError, DurableBackend, type WorkItem } from '../local-host/durable/backend.js';
import type { SimApp } from './app-functions.js';
import { Kernel, ThreadAbandoned, type SimThread, type Step, type ThreadKind } from './kernel.js';
import { SimAgent } from './models/sim-agent.js';
import { SimQueues } from './models/sim-queues.js';
import { SimScaleSets } from './models/sim-scale-sets.js';
import { SimMemoryStore } from './models/sim-memory-store.js';
import { SimDocumentStore, type SimStoreEnv } from './models/sim-store.js';
import type { DocumentStore } from '../shared/ports/document-store.js';
import { AutoScaleMonitors, type PoolNodesView } from './autoscale-monitors.js';
import { FaultInjector } from './fault-injector.js';
import { Monitors } from './monitors.js';
import type { Prng } from './prng.js';
import type { Scenario } from './scenario.js';
import { PeriodicWork } from './periodic-work.js';
import { providerCallsIdle, resetProcessState } from './process-state.js';
import { SimJournal } from './sim-journal.js';
import { Trace } from './trace.js';
import { contextOver } from './app-context.js';
import { VirtualClock } from '../local-host/virtual-clock.js';

const HOST_GROUP = (epoch: number) => `host:${epoch}`;

export interface WorldOptions {
  /** Check every quiet verdict against the real services (slower; for tests). */
  verifyQuietWork?: boolean;
}

export class World {
  readonly clock = new VirtualClock();
  readonly kernel = new Kernel();
  readonly store = new SimMemoryStore();
  readonly journal: SimJournal;
  readonly trace: Trace;
  readonly monitors: Monitors;
  readonly queues: SimQueues;
  readonly scaleSets: SimScaleSets;
  readonly start = this.clock.now();
  private readonly agents = new Map<string, SimAgent>();
  private readonly reboots = new Map<string, number>();
  private readonly storeEnv: SimStoreEnv;
  private backend!: DurableBackend;
  private epoch = 0;
  private hostUp = false;
  private restartAt = 0;
  private inflight = new Set<string>();
  private readonly periodic: PeriodicWork;
  /** The store and provider as the simulator itself reads them: no scheduling points, no faults. */
  private direct!: AppContext;
  private peek!: AppContext;
  private executionIds = 0;
  private agentBoots = 0;
  private readonly faults: FaultInjector;
  /** Set when something the simulator does not model failed (a bug in the backend or a model). */
  unexpected: string | undefined;

  constructor(
    private readonly app: SimApp,
    readonly scenario: Scenario,
    private readonly prng: Prng,
    options: WorldOptions = {},
  ) {
    this.trace = new Trace(this.clock, this.start);
    this.journal = new SimJournal(scenario.faults.hostCrash.max > 0);
    const note = (line: string) => this.trace.add(line);
    this.monitors = new Monitors({
      liveSlots: (nodeId) => {
        const agent = this.agents.get(nodeId);
        return agent?.alive ? agent.taskSlots : undefined;
      },
      bootedAt: (nodeId) => this.agents.get(nodeId)?.bootedAt,
      carried: (dispatchId) => this.carried(dispatchId),
      waitsAhead: (nodeId, dispatchId) => {
        const agent = this.agents.get(nodeId);
        return agent?.alive === true && agent.waitsAhead(dispatchId);
      },
    });
    if (scenario.pool.autoScale) this.monitors.watch(new AutoScaleMonitors(scenario.pool.autoScale, this.poolNodes()));
    this.storeEnv = {
      kernel: this.kernel,
      prng,
      faults: scenario.faults.store,
      observe: (container, id, pk, item) => {
        if (container === 'pools') this.periodic.poolWritten();
        this.monitors.onWrite(container, id, pk, item);
      },
      note,
    };
    this.queues = new SimQueues(this.clock, this.kernel, prng, scenario.faults.queue, note);
    this.scaleSets = new SimScaleSets(this.clock, this.kernel, prng, scenario.faults.scaleSet, note);
    this.faults = new FaultInjector(
      {
        clock: this.clock,
        start: this.start,
        vms: () => this.scaleSets.vms.values(),
        agent: (nodeId) => this.agents.get(nodeId),
        hostUp: () => this.hostUp,
        crashHost: () => this.crashHost(),
        rebootAt: (nodeId, at) => this.reboots.set(nodeId, at),
        userCall: (what, call) => {
          this.hostCall(`user ${what}`, (_ctx, services) => call(services)).catch((err: unknown) =>
            this.trace.add(`user: ${what} answered ${(err as Error).name}: ${(err as Error).message}`),
          );
        },
        note,
      },
      scenario,
      prng,
    );
    this.periodic = new PeriodicWork(
      {
        clock: this.clock,
        scaleSets: this.scaleSets,
        direct: () => this.direct,
        peek: () => this.peek,
        queuedMessages: () => this.queues.totalMessages(),
        stateVersion: () => {
          let running = 0;
          for (const vm of this.scaleSets.vms.values()) if (vm.state === 'running') running++;
          return `${this.store.writes}/${this.scaleSets.vms.size}/${running}/${providerCallsIdle()}`;
        },
        agents: () => this.agents.values(),
        timerCall: (label, call) => this.hostCall(label, call, 'timer'),
        note,
        settle: () => this.kernel.settle(),
        fail: (message) => {
          this.unexpected ??= message;
        },
      },
      { autoScale: scenario.pool.autoScale !== undefined, verify: options.verifyQuietWork ?? false },
    );
  }

  // ---- setup ----------------------------------------------------------------------------------

  /** Creates the pool and submits the jobs through the real services, before the run starts. */
  async setup(): Promise<void> {
    this.startHost();
    const ctx = await this.directContext(this.store);
    this.direct = ctx;
    this.peek = await this.directContext(this.store.peekView());
    const services: Services = { ctx, orchestrations: this.directOrchestrations() };
    const { pool } = this.scenario;
    const size = pool.autoScale
      ? { enableAutoScale: true, autoScaleFormula: pool.autoScale.formula, autoScaleEvaluationInterval: pool.autoScale.interval }
      : { targetDedicatedNodes: pool.targetDedicatedNodes, targetLowPriorityNodes: pool.targetLowPriorityNodes };
    const placement = pool.nodeFillType ? { taskSchedulingPolicy: { nodeFillType: pool.nodeFillType } } : {};
    await createPool(ctx, { id: pool.id, vmSize: 'Standard_D2s_v5', taskSlotsPerNode: pool.taskSlotsPerNode, ...size, ...placement });
    // As POST /pools does: an autoscaled pool's formula is evaluated at once.
    if (pool.autoScale) await runAutoScale(ctx, pool.id);
    for (const body of this.scenario.jobs) await createJob(services, body);
    const jobs = (await ctx.jobs.queryAll()).items.map((j) => j.item);
    const tasks = (await ctx.tasks.queryAll()).items.map((t) => t.item);
    this.monitors.seed(jobs, tasks);
    this.faults.planCancel();
  }

  /** The services' view with no scheduling points and no faults. */
  private async directContext(store: DocumentStore): Promise<AppContext> {
    return contextOver(store, (name) => this.queues.raw(name), this.scaleSets.direct(), () => this.clock.now());
  }

  private directOrchestrations(): JobOrchestrations {
    return {
      start: async (instanceId, input) => void this.backend.startNew(JOB_ORCHESTRATOR, { instanceId, input }),
      raise: async (instanceId, event) => this.backend.raiseEvent(instanceId, JOB_EVENT, event),
      terminate: async (instanceId, reason) => this.backend.terminate(instanceId, reason),
    };
  }

  // ---- the host -------------------------------------------------------------------------------

  private startHost(): void {
    // A host process starts with nothing in memory: no job's DagRun is cached.
    forgetJobProgress();
    resetProcessState(this.prng);
    this.epoch += 1;
    this.backend = new DurableBackend({
      hubName: 'sim',
      journal: this.journal,
      invoke: this.app.invoke,
      findFunction: (name) => this.app.registry.find(name),
      clock: this.clock,
      newExecutionId: () => `exec${++this.executionIds}`,
    });
    this.backend.open();
    this.hostUp = true;
    this.inflight = new Set();
    this.periodic.hostStarted();
  }

  private crashHost(): void {
    this.backend.crash();
    this.hostUp = false;
    const lost = this.kernel.abandonGroup(HOST_GROUP(this.epoch), 'the host crashed');
    const [min, max] = this.scenario.faults.hostCrash.restartMs;
    this.restartAt = this.clock.now() + this.prng.between(min, max);
    this.trace.add(`fault: HOST CRASH (epoch ${this.epoch}, ${lost} request(s)/activit(ies) in flight lost); restarts at +${((this.restartAt - this.start) / 1000).toFixed(3)}s`);
  }

  /** Everything a control-plane thread reaches, each call a scheduling point of that thread. */
  private threadParts(thread: SimThread): AppContextParts {
    return {
      store: new SimDocumentStore(this.store, thread, this.storeEnv),
      queueFactory: async (name) => this.queues.forThread(name, thread),
      scaleSets: async () => this.scaleSets.forThread(thread),
      now: () => this.clock.now(),
    };
  }

  private threadOrchestrations(thread: SimThread): JobOrchestrations {
    const backend = this.backend;
    return {
      start: async (instanceId, input) => {
        await this.kernel.point(thread, `durable start ${instanceId}`);
        backend.startNew(JOB_ORCHESTRATOR, { instanceId, input });
      },
      raise: async (instanceId, event) => {
        await this.kernel.point(thread, `durable raise ${event.type}${'taskId' in event ? ` ${event.taskId}` : ''} to ${instanceId}`);
        try {
          backend.raiseEvent(instanceId, JOB_EVENT, event);
        } catch (err) {
          // As the HTTP functions do: an ended orchestration has nobody left to hear it.
          if (!(err instanceof DurableApiError)) throw err;
        }
      },
      terminate: async (instanceId, reason) => {
        await this.kernel.point(thread, `durable terminate ${instanceId}`);
        try {
          backend.terminate(instanceId, reason);
        } catch {
          // already finished
        }
      },
    };
  }

  /** A request to the control plane; it dies with the host it runs on. */
  hostCall<T>(label: string, call: (ctx: AppContext, services: Services) => Promise<T>, kind: ThreadKind = 'http', atomic = false): Promise<T> {
    if (!this.hostUp) return Promise.reject(new ThreadAbandoned('the host is down'));
    return this.kernel.spawn(
      label,
      HOST_GROUP(this.epoch),
      kind,
      async (thread) => {
        const p = this.threadParts(thread);
        const ctx = await contextOver(p.store, (name) => this.queues.forThread(name, thread), this.scaleSets.forThread(thread), p.now!);
        return call(ctx, { ctx, orchestrations: this.threadOrchestrations(thread) });
      },
      atomic,
    );
  }

  private runDurable(item: WorkItem): void {
    const inflight = this.inflight;
    inflight.add(item.key);
    const kind: ThreadKind = item.kind === 'activity' ? 'activity' : 'orchestration';
    const backend = this.backend;
    this.kernel
      .spawn(`${item.kind} ${item.name}`, HOST_GROUP(this.epoch), kind, async (thread) => {
        // Activities reach the app's services through appContext(): give this one its own.
        if (kind === 'activity') setAppContext(this.threadParts(thread));
        await backend.runWork(item);
      })
      .catch((err: unknown) => {
        if (!(err instanceof ThreadAbandoned)) this.unexpected ??= `durable ${item.kind} ${item.name} threw: ${(err as Error).stack ?? err}`;
      })
      .finally(() => inflight.delete(item.key));
  }

  // ---- the agents -----------------------------------------------------------------------------

  private bootAgent(nodeId: string): void {
    const vm = this.scaleSets.vms.get(nodeId)!;
    this.agentBoots += 1;
    const boot = this.agentBoots;
    const agent = new SimAgent(vm.poolId, nodeId, vm.priority === 'dedicated', vm.taskSlots, this.clock.now(), {
      clock: this.clock,
      queues: this.queues,
      hostCall: (label, call, atomic) => this.hostCall(label, call, 'http', atomic),
      spawn: (node, name, body) => {
        this.kernel
          .spawn(`${node} ${name}`, `node:${node}:${boot}`, 'agent', body)
          .catch((err: unknown) => {
            this.unexpected ??= `agent ${node} ${name} threw: ${(err as Error).stack ?? err}`;
          });
      },
      profile: (task: TaskMessage) => this.scenario.profile(this.prng, task),
      responseLost: () => this.prng.chance(this.scenario.faults.lostResponse ?? 0),
      note: (line) => this.trace.add(line),
      heartbeatMs: this.scenario.heartbeatMs,
      leaseMs: this.scenario.leaseMs,
    });
    this.agents.set(nodeId, agent);
  }

  /** Agents die with their VM (deleted by the pool, evicted, failed). */
  private syncAgents(): void {
    for (const [nodeId, agent] of this.agents) {
      if (!agent.alive) continue;
      const vm = this.scaleSets.vms.get(nodeId);
      if (!vm || vm.state !== 'running') {
        agent.crash();
        this.trace.add(`${nodeId}: agent gone with its VM (${vm ? vm.state : 'deleted'})`);
      }
    }
  }

  /** The scenario's pool as the autoscale monitors see it. */
  private poolNodes(): PoolNodesView {
    const poolKey = this.scenario.pool.id.toLowerCase();
    const vms = () => [...this.scaleSets.vms.values()].filter((vm) => vm.poolId.toLowerCase() === poolKey);
    return {
      usableNodes: () => vms().filter((vm) => vm.state === 'running' && this.agents.get(vm.nodeId)?.takesWork).length,
      liveInstances: () => vms().filter((vm) => vm.state === 'creating' || vm.state === 'running').length,
    };
  }

  private carried(dispatchId: string): boolean {
    for (const agent of this.agents.values()) if (agent.alive && agent.holds(dispatchId)) return true;
    // A message for it may still be in a queue.
    for (const name of this.queueNames()) {
      const entries = (this.queues.raw(name) as unknown as { entries: Map<string, { body: string }> }).entries;
      for (const e of entries.values()) if (e.body.includes(`"dispatchId":"${dispatchId}"`)) return true;
    }
    return false;
  }

  private queueNamesCache: string[] | undefined;

  private queueNames(): string[] {
    this.queueNamesCache ??= PRIORITY_BANDS.map((band) => poolQueueName(this.scenario.pool.id, band));
    return this.queueNamesCache;
  }

  // ---- quiet periodic work (see periodic-work.ts) ---------------------------------------------

  /** Runs the periodic work that is due and provably quiet without making it a choice. */
  async runQuietWork(): Promise<void> {
    if (this.hostUp) await this.periodic.runQuiet();
  }

  // ---- steps ----------------------------------------------------------------------------------

  /** Everything that could happen now. */
  steps(): Step[] {
    this.syncAgents();
    const now = this.clock.now();
    const steps = this.kernel.blockedSteps();
    if (this.hostUp) {
      for (const item of this.backend.readyWork()) {
        if (this.inflight.has(item.key)) continue;
        const owner = item.kind === 'orchestration' ? `orchestration ${item.instanceId}` : `${item.kind} ${item.key}`;
        steps.push({ owner, label: `durable: ${item.kind} ${item.name} (${item.instanceId})`, run: () => this.runDurable(item) });
      }
      const maintenance = this.periodic.maintenanceStep(now);
      if (maintenance) steps.push(maintenance);
      const autoScale = this.periodic.autoScaleStep(now);
      if (autoScale) steps.push(autoScale);
    } else if (now >= this.restartAt) {
      steps.push({
        owner: 'host',
        label: 'host restarts from its journal',
        run: () => {
          this.startHost();
          this.trace.add(`host epoch ${this.epoch} up; ${this.backend.readyWork().length} work item(s) offered again`);
        },
      });
    }
    for (const vm of this.scaleSets.bootable(now)) {
      steps.push({
        owner: `vm ${vm.nodeId}`,
        label: `vm ${vm.nodeId} (${vm.priority}) booted`,
        run: () => {
          vm.state = 'running';
          this.bootAgent(vm.nodeId);
        },
      });
    }
    for (const [nodeId, at] of this.reboots) {
      if (now < at) continue;
      steps.push({
        owner: `vm ${nodeId}`,
        label: `${nodeId}: agent restarted after a reboot`,
        run: () => {
          this.reboots.delete(nodeId);
          if (this.scaleSets.vms.get(nodeId)?.state === 'running') this.bootAgent(nodeId);
        },
      });
    }
    for (const agent of this.agents.values()) steps.push(...agent.steps());
    return steps;
  }

  /** When something next falls due, for the clock to jump to. */
  nextEventAt(): number | undefined {
    const times: number[] = [];
    const push = (t: number | undefined) => {
      if (t !== undefined) times.push(t);
    };
    if (this.hostUp) {
      push(this.backend.nextTimerAt());
      push(this.periodic.nextMaintenanceAt());
      push(this.periodic.nextAutoScaleAt());
    } else push(this.restartAt);
    push(this.scaleSets.nextBootAt());
    for (const at of this.reboots.values()) push(at);
    for (const agent of this.agents.values()) push(agent.nextEventAt());
    const now = this.clock.now();
    const future = times.filter((t) => t > now);
    return future.length ? Math.min(...future) : undefined;
  }

  /** Faults the seed decides to inject before this step; true if it injected any. */
  injectFaults(stepNo: number): boolean {
    return this.faults.inject(stepNo);
  }

  /** Whether anything is still moving: requests in flight or messages not yet taken. */
  busy(): boolean {
    return this.kernel.liveThreads() > 0 || this.kernel.blockedCount() > 0 || this.queues.totalMessages() > 0;
  }

  /** Job orchestrations that ended Failed, with their error (a job can then never complete). */
  failedOrchestrations(): string[] {
    if (!this.hostUp) return [];
    return this.backend
      .list({ runtimeStatus: ['Failed'] }, { showInput: false })
      .map((v) => `${v.instanceId}: ${typeof v.output === 'string' ? v.output : JSON.stringify(v.output)}`.slice(0, 400));
  }

  get hostEpoch(): number {
    return this.epoch;
  }
}
