// The local Durable Functions backend: it keeps orchestration instances, drives the app's own
// orchestrator handler episode by episode, runs activities and timers, and persists every change
// through the journal. Time comes from an injectable Clock; which ready work item runs next comes
// from an injectable Scheduler, so the same backend serves the real-time host and a seeded,
// virtual-time simulation.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { realClock, type Clock, type HostLog, type Invoker, type RegisteredFunction } from '../contracts.js';
import { fromTypedData } from '../invoker.js';
import { planEpisode, newInstance, type EpisodeEnv, type OrchestrationInput, type OrchestratorOutcome } from './episode.js';
import { EventType, toJsonText, type HistoryEvent, type OrchestratorState } from './history.js';
import type { Journal } from './journal.js';
import { TERMINAL, applyCommit, type BackendState, type Commit, type Control, type InstanceState, type RuntimeStatus } from './state.js';
import { valueTriggerData } from './trigger-data.js';
import { instanceView, type InstanceView, type ViewOptions } from './status-view.js';

export interface WorkItem {
  kind: 'orchestration' | 'activity' | 'timer';
  key: string;
  instanceId: string;
  name: string;
}

/** Chooses which ready work item runs next; index into `ready`. */
export interface Scheduler {
  pick(ready: readonly WorkItem[]): number;
}

export const fifoScheduler: Scheduler = { pick: () => 0 };

export interface DurableBackendOptions {
  hubName: string;
  journal: Journal;
  invoke: Invoker;
  findFunction(name: string): RegisteredFunction | undefined;
  clock?: Clock;
  log?: HostLog;
  maxConcurrentActivities?: number;
  maxConcurrentOrchestrations?: number;
  /** Source of execution ids; inject a deterministic one for reproducible simulations. */
  newExecutionId?: () => string;
  /**
   * Chooses which ready work item the real-time driver starts next. Without one it starts timers,
   * then activities, then orchestrations, each in arrival order (cheapest for large fan-outs).
   */
  scheduler?: Scheduler;
}

export class DurableApiError extends Error {
  constructor(readonly status: 400 | 404 | 409 | 410, message: string) {
    super(message);
    this.name = 'DurableApiError';
  }
}

const OUT_OF_PROC_LABEL = '\n\n$OutOfProcData$:';

export class DurableBackend extends EventEmitter {
  readonly hubName: string;
  private state!: BackendState;
  private readonly clock: Clock;
  private readonly running = new Set<string>();
  private readonly readyOrchestrations = new Map<string, number>(); // instanceId -> ready since
  private readonly readyActivities = new Set<string>();
  private readonly pendingActivitiesByInstance = new Map<string, number>();
  private readonly lastEpisodeMs = new Map<string, number>();
  private activeActivities = 0;
  private activeOrchestrations = 0;
  private driving = false;
  private pumpQueued = false;
  private wakeCancel: (() => void) | undefined;
  private commitsSinceCompaction = 0;
  private dead = false;

  constructor(private readonly options: DurableBackendOptions) {
    super();
    this.setMaxListeners(0);
    this.hubName = options.hubName;
    this.clock = options.clock ?? realClock;
  }

  /** Loads persisted state; all work that was in flight is offered again (at-least-once). */
  open(): void {
    this.state = this.options.journal.load();
    for (const instance of this.state.instances.values()) this.refreshReadiness(instance.instanceId);
    for (const key of this.state.activities.keys()) this.trackActivity(key, true);
  }

  close(): void {
    this.stopDriver();
    this.options.journal.close();
  }

  /**
   * Simulates the host process dying: from now on this backend writes nothing and runs nothing;
   * work it had in flight is lost with it. A new backend on the same journal takes over.
   */
  crash(): void {
    this.dead = true;
    this.stopDriver();
  }

  // ---- the management surface -------------------------------------------------------------

  startNew(name: string, opts: { instanceId?: string; input?: unknown } = {}): string {
    const fn = this.options.findFunction(name);
    if (!fn || !isTrigger(fn, 'orchestrationTrigger')) {
      throw new DurableApiError(400, `The function '${name}' doesn't exist, is disabled, or is not an orchestrator function.`);
    }
    const instanceId = opts.instanceId ?? randomUUID().replace(/-/g, '');
    if (!/^[^/\\#?\u0000-\u001f]{1,256}$/.test(instanceId)) {
      throw new DurableApiError(400, `The instance ID '${instanceId}' is not valid: 1 to 256 characters, none of / \\ # ? or control characters.`);
    }
    const existing = this.state.instances.get(instanceId);
    if (existing && !TERMINAL.has(existing.status)) {
      throw new DurableApiError(409, `An instance with ID '${instanceId}' already exists and is ${existing.status}.`);
    }
    const env = this.env();
    const instance = newInstance(env, { instanceId, name: fn.name, input: toJsonText(opts.input) });
    const commit: Commit = { put: [instance], nextSeq: this.state.nextSeq };
    if (existing) this.withdrawWork(commit, existing.instanceId);
    this.commit(commit);
    return instanceId;
  }

  raiseEvent(instanceId: string, eventName: string, data: unknown): void {
    const instance = this.require(instanceId);
    if (TERMINAL.has(instance.status)) {
      throw new DurableApiError(410, `Instance '${instanceId}' is ${instance.status} and cannot receive events.`);
    }
    this.deliver(instanceId, {
      EventType: EventType.EventRaised,
      EventId: -1,
      IsPlayed: false,
      Timestamp: this.isoNow(),
      Name: eventName,
      Input: toJsonText(data),
    });
  }

  terminate(instanceId: string, reason: string): void {
    this.control(instanceId, 'terminate', EventType.ExecutionTerminated, reason);
  }

  suspend(instanceId: string, reason: string): void {
    this.control(instanceId, 'suspend', EventType.ExecutionSuspended, reason);
  }

  resume(instanceId: string, reason: string): void {
    this.control(instanceId, 'resume', EventType.ExecutionResumed, reason);
  }

  /** Removes finished instances; returns how many were deleted. */
  purge(filter: { instanceId?: string; createdTimeFrom?: number; createdTimeTo?: number; runtimeStatus?: RuntimeStatus[] }): number {
    const victims = [...this.state.instances.values()].filter(
      (i) => TERMINAL.has(i.status) && matches(i, filter) && (!filter.instanceId || i.instanceId === filter.instanceId),
    );
    if (victims.length === 0) return 0;
    this.commit({ purge: victims.map((i) => i.instanceId) });
    return victims.length;
  }

  getStatus(instanceId: string, view: ViewOptions = {}): InstanceView | undefined {
    const instance = this.state.instances.get(instanceId);
    return instance ? instanceView(instance, view) : undefined;
  }

  list(filter: { createdTimeFrom?: number; createdTimeTo?: number; runtimeStatus?: RuntimeStatus[] } = {}, view: ViewOptions = {}): InstanceView[] {
    return [...this.state.instances.values()]
      .filter((i) => matches(i, filter))
      .sort((a, b) => a.createdTime - b.createdTime || a.instanceId.localeCompare(b.instanceId))
      .map((i) => instanceView(i, view));
  }

  /** Resolves when the instance reaches a status the predicate accepts. */
  waitFor(instanceId: string, accept: (status: RuntimeStatus) => boolean = (s) => TERMINAL.has(s), timeoutMs = 60_000): Promise<InstanceView> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const instance = this.state.instances.get(instanceId);
        if (instance && accept(instance.status)) {
          cleanup();
          resolve(instanceView(instance, { showInput: true }));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`Timed out waiting for instance '${instanceId}' (status ${this.state.instances.get(instanceId)?.status ?? 'missing'})`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('changed', check);
      };
      this.on('changed', check);
      check();
    });
  }

  // ---- stepping (simulation) and driving (real time) ----------------------------------------

  /** Every work item that could run now, in a stable order. */
  readyWork(): WorkItem[] {
    const items: WorkItem[] = [];
    const now = this.clock.now();
    for (const timer of this.state.timers.values()) {
      if (timer.fireAt <= now && !this.running.has(timer.key)) {
        items.push({ kind: 'timer', key: timer.key, instanceId: timer.instanceId, name: `timer ${timer.timerId}` });
      }
    }
    for (const instanceId of this.readyOrchestrations.keys()) {
      const name = this.state.instances.get(instanceId)?.name ?? '?';
      items.push({ kind: 'orchestration', key: `o|${instanceId}`, instanceId, name });
    }
    for (const key of this.readyActivities) {
      const work = this.state.activities.get(key)!;
      items.push({ kind: 'activity', key, instanceId: work.instanceId, name: work.name });
    }
    return items;
  }

  /** The earliest pending timer, for a virtual clock to jump to when nothing else is ready. */
  nextTimerAt(): number | undefined {
    let earliest: number | undefined;
    for (const timer of this.state.timers.values()) {
      if (!this.running.has(timer.key) && (earliest === undefined || timer.fireAt < earliest)) earliest = timer.fireAt;
    }
    return earliest;
  }

  async runWork(item: WorkItem): Promise<void> {
    if (item.kind === 'timer') return this.runTimer(item.key);
    if (item.kind === 'activity') return this.runActivity(item.key);
    return this.runOrchestration(item.instanceId);
  }

  /** Runs ready work by itself, in real time, until stopDriver(). */
  startDriver(): void {
    this.driving = true;
    this.pump();
  }

  stopDriver(): void {
    this.driving = false;
    this.wakeCancel?.();
    this.wakeCancel = undefined;
  }

  private pump(): void {
    if (!this.driving || this.pumpQueued) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    if (!this.driving) return;
    if (this.options.scheduler) return this.dispatchByScheduler(this.options.scheduler);
    const now = this.clock.now();
    for (const timer of [...this.state.timers.values()]) {
      if (timer.fireAt <= now && !this.running.has(timer.key)) this.launch(timer.key, () => this.runTimer(timer.key));
    }
    const maxActivities = this.options.maxConcurrentActivities ?? 64;
    for (const key of this.readyActivities) {
      if (this.activeActivities >= maxActivities) break;
      this.activeActivities++;
      this.launch(key, () => this.runActivity(key).finally(() => this.activeActivities--));
    }
    const maxOrchestrations = this.options.maxConcurrentOrchestrations ?? 16;
    let wakeAt = this.nextTimerAt();
    for (const [instanceId, readySince] of [...this.readyOrchestrations]) {
      if (this.activeOrchestrations >= maxOrchestrations) break;
      const deferUntil = this.batchingDeadline(instanceId, readySince);
      if (deferUntil > now) {
        wakeAt = wakeAt === undefined ? deferUntil : Math.min(wakeAt, deferUntil);
        continue;
      }
      this.activeOrchestrations++;
      this.launch(`o|${instanceId}`, () => this.runOrchestration(instanceId).finally(() => this.activeOrchestrations--));
    }
    this.wakeCancel?.();
    this.wakeCancel = wakeAt === undefined ? undefined : this.clock.setTimer(Math.min(wakeAt - now, 2 ** 31 - 1), () => this.pump());
  }

  /** Starts ready work in the order the scheduler picks, within the concurrency limits. */
  private dispatchByScheduler(scheduler: Scheduler): void {
    const maxActivities = this.options.maxConcurrentActivities ?? 64;
    const maxOrchestrations = this.options.maxConcurrentOrchestrations ?? 16;
    for (;;) {
      const ready = this.readyWork().filter((item) =>
        item.kind === 'activity' ? this.activeActivities < maxActivities : item.kind === 'orchestration' ? this.activeOrchestrations < maxOrchestrations : true,
      );
      if (ready.length === 0) break;
      const item = ready[Math.min(ready.length - 1, Math.max(0, scheduler.pick(ready)))]!;
      if (item.kind === 'activity') this.activeActivities++;
      if (item.kind === 'orchestration') this.activeOrchestrations++;
      this.launch(item.key, () =>
        this.runWork(item).finally(() => {
          if (item.kind === 'activity') this.activeActivities--;
          if (item.kind === 'orchestration') this.activeOrchestrations--;
        }),
      );
    }
    const wakeAt = this.nextTimerAt();
    this.wakeCancel?.();
    this.wakeCancel = wakeAt === undefined ? undefined : this.clock.setTimer(Math.min(wakeAt - this.clock.now(), 2 ** 31 - 1), () => this.pump());
  }

  /**
   * Completions of a fan-out arrive one by one; replaying the whole history for each would make a
   * large fan-in quadratic. While an instance still has activities in flight, its episode waits a
   * little (about twice its last episode's duration) so that completions are handled together,
   * as the Azure host's batching of control-queue messages does.
   */
  private batchingDeadline(instanceId: string, readySince: number): number {
    if ((this.pendingActivitiesByInstance.get(instanceId) ?? 0) === 0) return 0;
    const instance = this.state.instances.get(instanceId);
    const onlyCompletions = instance?.inbox.every(
      (m) => m.event.EventType === EventType.TaskCompleted || m.event.EventType === EventType.TaskFailed,
    );
    if (!onlyCompletions) return 0;
    const wait = Math.min(250, Math.max(2, 2 * (this.lastEpisodeMs.get(instanceId) ?? 1)));
    return readySince + wait;
  }

  private launch(key: string, run: () => Promise<void>): void {
    this.running.add(key);
    if (key.startsWith('o|')) this.readyOrchestrations.delete(key.slice(2));
    else this.readyActivities.delete(key);
    run()
      .catch((err) => this.options.log?.error(`Durable backend: ${(err as Error).stack ?? err}`))
      .finally(() => {
        this.running.delete(key);
        if (key.startsWith('o|')) this.refreshReadiness(key.slice(2));
        else if (this.state.activities.has(key) && key.startsWith('a|')) this.readyActivities.add(key);
        this.pump();
      });
  }

  // ---- running work ---------------------------------------------------------------------------

  private async runTimer(key: string): Promise<void> {
    const timer = this.state.timers.get(key);
    if (!timer) return;
    this.commit({
      removeTimers: [key],
      deliver: [
        {
          instanceId: timer.instanceId,
          message: {
            seq: this.allocateSeq(),
            executionId: timer.executionId,
            event: {
              EventType: EventType.TimerFired,
              EventId: -1,
              IsPlayed: false,
              Timestamp: this.isoNow(),
              TimerId: timer.timerId,
              FireAt: new Date(timer.fireAt).toISOString(),
            },
          },
        },
      ],
      nextSeq: this.state.nextSeq,
    });
  }

  private async runActivity(key: string): Promise<void> {
    const work = this.state.activities.get(key);
    if (!work) return;
    const fn = this.options.findFunction(work.name);
    let event: HistoryEvent;
    const stamp = () => this.isoNow();
    if (!fn || !isTrigger(fn, 'activityTrigger')) {
      event = taskFailed(work.taskId, stamp(), 'FunctionNotFound', `The activity function '${work.name}' doesn't exist or is not an activity function.`);
    } else {
      try {
        const result = await this.options.invoke(fn, { triggerData: { string: work.input } });
        event = {
          EventType: EventType.TaskCompleted,
          EventId: -1,
          IsPlayed: false,
          Timestamp: stamp(),
          TaskScheduledId: work.taskId,
          Result: toJsonText(fromTypedData(result.returnValue)),
        };
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        event = taskFailed(work.taskId, stamp(), error.name || 'Error', error.message, error.stack);
        event.Reason = `Activity function '${work.name}' failed: ${error.message}`;
      }
    }
    // A result for work withdrawn meanwhile (terminate, continueAsNew) is dropped.
    if (!this.state.activities.has(key)) return;
    this.commit({
      removeActivities: [key],
      deliver: [{ instanceId: work.instanceId, message: { seq: this.allocateSeq(), executionId: work.executionId, event } }],
      nextSeq: this.state.nextSeq,
    });
  }

  private async runOrchestration(instanceId: string): Promise<void> {
    const instance = this.state.instances.get(instanceId);
    if (!instance) return;
    const env = this.env();
    const plan = planEpisode(instance, env);
    if (plan.kind === 'idle') return;
    let commit: Commit;
    if (plan.kind === 'commit') {
      commit = plan.commit;
    } else {
      const started = performance.now();
      const outcome = await this.invokeOrchestrator(instance, plan.input);
      this.lastEpisodeMs.set(instanceId, performance.now() - started);
      commit = plan.finish(outcome);
    }
    commit.nextSeq = this.state.nextSeq;
    const status = commit.update?.find((u) => u.instanceId === instanceId)?.fields?.status;
    const restarted = commit.put?.some((p) => p.instanceId === instanceId);
    if ((status && TERMINAL.has(status)) || restarted) this.withdrawWork(commit, instanceId, instance.executionId);
    this.commit(commit);
  }

  private async invokeOrchestrator(instance: InstanceState, input: OrchestrationInput): Promise<OrchestratorOutcome> {
    const fn = this.options.findFunction(instance.name);
    if (!fn || !isTrigger(fn, 'orchestrationTrigger')) {
      return { kind: 'failed', message: `The orchestrator function '${instance.name}' doesn't exist.` };
    }
    try {
      const result = await this.options.invoke(fn, { triggerData: valueTriggerData(input) });
      const raw = result.rawReturn as OrchestratorState | undefined;
      if (raw && typeof raw === 'object' && Array.isArray(raw.actions)) return { kind: 'state', state: raw };
      const value = fromTypedData(result.returnValue);
      const state = (typeof value === 'string' ? JSON.parse(value) : value) as OrchestratorState | undefined;
      if (!state || !Array.isArray(state.actions)) {
        return { kind: 'failed', message: 'The orchestrator handler returned no orchestration state; is it registered with df.app.orchestration?' };
      }
      return { kind: 'state', state };
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      const at = error.message.indexOf(OUT_OF_PROC_LABEL);
      if (at < 0) return { kind: 'failed', message: error.message, stack: error.stack };
      let state: OrchestratorState | undefined;
      try {
        state = JSON.parse(error.message.slice(at + OUT_OF_PROC_LABEL.length)) as OrchestratorState;
      } catch {
        state = undefined;
      }
      // The library puts the orchestrator's own error message in the state it attaches.
      const message = typeof state?.error === 'string' && state.error ? state.error : error.message.slice(0, at);
      return { kind: 'failed', message, stack: error.stack, state };
    }
  }

  // ---- committing -----------------------------------------------------------------------------

  private commit(commit: Commit): void {
    if (this.dead) throw new Error('This backend has crashed');
    commit.n = this.state.lastN + 1;
    this.options.journal.append(commit);
    applyCommit(this.state, commit);
    const touched = new Set<string>();
    for (const id of commit.purge ?? []) touched.add(id);
    for (const i of commit.put ?? []) touched.add(i.instanceId);
    for (const u of commit.update ?? []) touched.add(u.instanceId);
    for (const d of commit.deliver ?? []) touched.add(d.instanceId);
    for (const key of commit.removeActivities ?? []) this.trackActivity(key, false);
    for (const work of commit.addActivities ?? []) this.trackActivity(work.key, true);
    for (const id of touched) this.refreshReadiness(id);
    if (++this.commitsSinceCompaction >= 1000) {
      this.commitsSinceCompaction = 0;
      this.options.journal.maybeCompact(this.state);
    }
    this.emit('changed', touched);
    this.pump();
  }

  private trackActivity(key: string, added: boolean): void {
    const instanceId = key.split('|')[1]!;
    const count = this.pendingActivitiesByInstance.get(instanceId) ?? 0;
    if (added) {
      if (!this.readyActivities.has(key) && !this.running.has(key)) this.readyActivities.add(key);
      this.pendingActivitiesByInstance.set(instanceId, count + 1);
    } else {
      this.readyActivities.delete(key);
      if (count <= 1) this.pendingActivitiesByInstance.delete(instanceId);
      else this.pendingActivitiesByInstance.set(instanceId, count - 1);
    }
  }

  private refreshReadiness(instanceId: string): void {
    const instance = this.state.instances.get(instanceId);
    const runnable =
      !!instance &&
      instance.inbox.length > 0 &&
      !this.running.has(`o|${instanceId}`) &&
      (instance.status !== 'Suspended' || instance.inbox.some((m) => m.control === 'resume' || m.control === 'terminate'));
    if (!runnable) this.readyOrchestrations.delete(instanceId);
    else if (!this.readyOrchestrations.has(instanceId)) this.readyOrchestrations.set(instanceId, this.clock.now());
  }

  /** Drops an instance's queued activities and timers (terminated, finished, or restarted). */
  private withdrawWork(commit: Commit, instanceId: string, executionId?: string): void {
    const belongs = (w: { instanceId: string; executionId: string }) =>
      w.instanceId === instanceId && (!executionId || w.executionId === executionId);
    const activities = [...this.state.activities.values()].filter(belongs).map((w) => w.key);
    const timers = [...this.state.timers.values()].filter(belongs).map((w) => w.key);
    if (activities.length) commit.removeActivities = [...(commit.removeActivities ?? []), ...activities];
    if (timers.length) commit.removeTimers = [...(commit.removeTimers ?? []), ...timers];
  }

  private deliver(instanceId: string, event: HistoryEvent, control?: Control): void {
    const instance = this.require(instanceId);
    this.commit({
      deliver: [{ instanceId, message: { seq: this.allocateSeq(), executionId: instance.executionId, event, control } }],
      nextSeq: this.state.nextSeq,
    });
  }

  private control(instanceId: string, control: Control, type: EventType, reason: string): void {
    const instance = this.require(instanceId);
    if (TERMINAL.has(instance.status)) {
      throw new DurableApiError(410, `Instance '${instanceId}' is already ${instance.status}.`);
    }
    if (control === 'terminate') {
      // Cancel queued work now, so nothing new starts while the termination is processed.
      const commit: Commit = {};
      this.withdrawWork(commit, instanceId, instance.executionId);
      if (commit.removeActivities || commit.removeTimers) this.commit(commit);
    }
    const event: HistoryEvent = { EventType: type, EventId: -1, IsPlayed: false, Timestamp: this.isoNow(), Reason: reason };
    if (control === 'terminate') event.Input = toJsonText(reason);
    this.deliver(instanceId, event, control);
  }

  private require(instanceId: string): InstanceState {
    const instance = this.state.instances.get(instanceId);
    if (!instance) throw new DurableApiError(404, `No instance with ID '${instanceId}' was found.`);
    return instance;
  }

  private allocateSeq(): number {
    return this.state.nextSeq++;
  }

  private env(): EpisodeEnv {
    return {
      now: this.clock.now(),
      allocateSeq: () => this.allocateSeq(),
      newExecutionId: this.options.newExecutionId ?? (() => randomUUID().replace(/-/g, '')),
    };
  }

  private isoNow(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

function isTrigger(fn: RegisteredFunction, type: string): boolean {
  return String(fn.trigger.type ?? '').toLowerCase() === type.toLowerCase();
}

function taskFailed(taskId: number, stamp: string, errorType: string, message: string, stack?: string): HistoryEvent {
  return {
    EventType: EventType.TaskFailed,
    EventId: -1,
    IsPlayed: false,
    Timestamp: stamp,
    TaskScheduledId: taskId,
    Reason: message,
    Details: stack ?? '',
    FailureDetails: { ErrorType: errorType, ErrorMessage: message, StackTrace: stack },
  };
}

function matches(
  instance: InstanceState,
  filter: { createdTimeFrom?: number; createdTimeTo?: number; runtimeStatus?: RuntimeStatus[] },
): boolean {
  if (filter.createdTimeFrom !== undefined && instance.createdTime < filter.createdTimeFrom) return false;
  if (filter.createdTimeTo !== undefined && instance.createdTime > filter.createdTimeTo) return false;
  if (filter.runtimeStatus?.length && !filter.runtimeStatus.includes(instance.status)) return false;
  return true;
}
