// The specifications, checked on every write the simulated world makes to the store (safety) and
// at the end of a run (liveness, with Coyote's hot/cold reading: a monitor is hot while something
// is owed, and a run that stays hot past its bound is a liveness violation).
import { TaskDag } from '../shared/batch/index.js';
import type { JobDoc, NodeDoc, TaskDoc } from '../shared/app/documents.js';
import type { DocumentItem } from '../shared/ports/document-store.js';
import type { LivenessMonitor } from './autoscale-monitors.js';

export interface Violation {
  monitor: string;
  message: string;
}

interface TaskShadow {
  jobKey: string;
  taskKey: string;
  taskId: string;
  state: TaskDoc['state'];
  scheduling: TaskDoc['scheduling'];
  stateVersion: number;
  dependencyAction?: 'satisfy' | 'block';
  nodeId?: string;
  slots: number;
  /** When the current run on a node began (the claim). */
  startedAt?: number;
  dispatchId?: string;
  completions: number;
  failureCode?: string;
}

/** Further specifications fed with every task and job write (the autoscale monitors). */
export interface WatchedSpecs {
  readonly monitors: LivenessMonitor[];
  taskWritten(task: TaskDoc): void;
  jobWritten(job: JobDoc): void;
}

/** What the monitors need to know about the simulated nodes. */
export interface NodeView {
  /** Slots of the node's current boot, or undefined if no agent of it is alive. */
  liveSlots(nodeId: string): number | undefined;
  /** When the node's current agent booted. */
  bootedAt(nodeId: string): number | undefined;
  /** Whether some live agent, or a message in a queue, still carries the dispatch. */
  carried(dispatchId: string): boolean;
  /**
   * Whether the node's live agent claims (or claimed) the dispatch ahead of a free slot: the store
   * shows it running, but it takes no slot until the agent starts it.
   */
  waitsAhead(nodeId: string, dispatchId: string): boolean;
}

export const MONITORS = {
  dependencies: 'DependenciesBeforeStart',
  upstream: 'UpstreamFailureJustified',
  attemptOnce: 'AttemptEndsOnce',
  completedOnce: 'TaskCompletesOnce',
  noGoingBack: 'TaskStateNeverGoesBack',
  stateVersion: 'StateVersionMonotonic',
  slots: 'NodeSlotsRespected',
  jobEnd: 'CompletedJobHasEndedTasks',
  allEnded: 'AllTasksCompleteMeansAllEnded',
  nothingAfterEnd: 'NothingStartsAfterJobEnds',
  taskLost: 'NoTaskLost',
  deadNode: 'TaskOnDeadNodeRunsAgain',
  jobCompletes: 'EveryJobCompletes',
} as const;

export class Monitors {
  private readonly tasks = new Map<string, TaskShadow>();
  private readonly jobs = new Map<string, JobDoc['state']>();
  private readonly dependencies = new Map<string, string[]>();
  private readonly endedDispatches = new Set<string>();
  private readonly watched: WatchedSpecs[] = [];
  /** Bounded liveness properties, with when each last turned hot. */
  private readonly bounded: { monitor: LivenessMonitor; hotSince?: number }[] = [];
  violation: Violation | undefined;

  constructor(private readonly nodes: NodeView) {}

  watch(specs: WatchedSpecs): void {
    this.watched.push(specs);
    for (const monitor of specs.monitors) this.bounded.push({ monitor });
  }

  /** The state the run starts from (written before the simulation began). */
  seed(jobs: JobDoc[], tasks: TaskDoc[]): void {
    for (const specs of this.watched) {
      for (const job of jobs) specs.jobWritten(job);
      for (const task of tasks) specs.taskWritten(task);
    }
    for (const job of jobs) {
      this.jobs.set(job.id, job.state);
      const mine = tasks.filter((t) => t.jobId === job.id);
      const dag = TaskDag.of(mine.map((t) => ({ id: t.taskId, ...(t.dependsOn ? { dependsOn: t.dependsOn } : {}) })));
      for (const t of mine) this.dependencies.set(`${job.id}/${t.id}`, dag.dependenciesOf(t.taskId).map((d) => `${job.id}/${d.toLowerCase()}`));
    }
    for (const t of tasks) this.tasks.set(`${t.jobId}/${t.id}`, this.shadowOf(t, undefined));
  }

  onWrite(container: string, id: string, partitionKey: string, item: DocumentItem | undefined): void {
    if (this.violation) return;
    for (const specs of this.watched) {
      if (container === 'tasks' && item) specs.taskWritten(item as TaskDoc);
      else if (container === 'jobs' && item) specs.jobWritten(item as JobDoc);
    }
    if (container === 'tasks' && item) this.taskWritten(item as TaskDoc);
    else if (container === 'jobs' && item) this.jobWritten(item as JobDoc);
    else if (container === 'nodes' && item) this.nodeWritten(item as NodeDoc);
    void id;
    void partitionKey;
  }

  private fail(monitor: string, message: string): void {
    this.violation ??= { monitor, message };
  }

  private shadowOf(t: TaskDoc, before: TaskShadow | undefined): TaskShadow {
    return {
      jobKey: t.jobId,
      taskKey: t.id,
      taskId: t.taskId,
      state: t.state,
      scheduling: t.scheduling,
      stateVersion: t.stateVersion,
      dependencyAction: t.dependencyAction,
      nodeId: t.nodeInfo?.nodeId?.toLowerCase(),
      slots: t.requiredSlots,
      startedAt: t.executionInfo.startTime ? Date.parse(t.executionInfo.startTime) : undefined,
      dispatchId: t.dispatchId,
      completions: before?.completions ?? 0,
      failureCode: t.executionInfo.failureInfo?.code,
    };
  }

  private taskWritten(t: TaskDoc): void {
    const key = `${t.jobId}/${t.id}`;
    const before = this.tasks.get(key);
    const after = this.shadowOf(t, before);
    this.tasks.set(key, after);
    const name = `${t.jobId}/${t.taskId}`;
    if (!before) return;
    if (after.stateVersion < before.stateVersion) {
      return this.fail(MONITORS.stateVersion, `${name}: stateVersion went from ${before.stateVersion} to ${after.stateVersion}`);
    }
    if (after.state !== before.state && after.stateVersion <= before.stateVersion) {
      return this.fail(MONITORS.stateVersion, `${name}: state changed ${before.state} -> ${after.state} without a new stateVersion (${after.stateVersion})`);
    }
    if (before.state === 'completed' && after.state !== 'completed') {
      return this.fail(MONITORS.noGoingBack, `${name}: went back from completed to ${after.state}`);
    }
    if (before.state === 'running' && after.state !== 'running' && before.dispatchId) {
      // The attempt that was running ended (completed, retried, or given back).
      const attempt = `${name}@${before.dispatchId}`;
      if (after.state !== 'active' || after.dispatchId !== before.dispatchId) {
        if (this.endedDispatches.has(attempt)) return this.fail(MONITORS.attemptOnce, `${name}: attempt ${before.dispatchId} ended twice`);
        this.endedDispatches.add(attempt);
      }
    }
    if (after.state === 'completed' && before.state === 'completed' && after.stateVersion > before.stateVersion) {
      return this.fail(MONITORS.completedOnce, `${name}: an ended task was completed again (stateVersion ${before.stateVersion} -> ${after.stateVersion})`);
    }
    if (after.state === 'completed' && before.state !== 'completed') {
      after.completions += 1;
      if (after.completions > 1) return this.fail(MONITORS.completedOnce, `${name}: completed ${after.completions} times`);
      if (after.failureCode === 'UpstreamTaskFailed') {
        // The root cause must have ended blocking and be among the task's (transitive) dependencies.
        const rootId = t.executionInfo.failureInfo?.details?.find((d) => d.name === 'RootTaskId')?.value?.toLowerCase();
        const rootKey = rootId && `${t.jobId}/${rootId}`;
        const root = rootKey ? this.tasks.get(rootKey) : undefined;
        if (!root || root.state !== 'completed' || root.dependencyAction !== 'block' || !this.dependsTransitively(key, rootKey!)) {
          return this.fail(
            MONITORS.upstream,
            `${name}: failed as UpstreamTaskFailed naming root ${rootId ?? '?'}, which ${root ? `is ${root.state}${root.dependencyAction ? ` (${root.dependencyAction})` : ''}` : 'does not exist'}`,
          );
        }
      }
    }
    const started = after.state === 'running' && (before.state !== 'running' || before.nodeId !== after.nodeId);
    if (started) this.taskStarted(key, name, after);
  }

  private dependsTransitively(from: string, on: string): boolean {
    const seen = new Set<string>();
    const stack = [...(this.dependencies.get(from) ?? [])];
    while (stack.length) {
      const next = stack.pop()!;
      if (next === on) return true;
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...(this.dependencies.get(next) ?? []));
    }
    return false;
  }

  private taskStarted(key: string, name: string, task: TaskShadow): void {
    for (const d of this.dependencies.get(key) ?? []) {
      const dep = this.tasks.get(d);
      if (!dep || dep.state !== 'completed' || dep.dependencyAction !== 'satisfy') {
        return this.fail(
          MONITORS.dependencies,
          `${name} started on ${task.nodeId} while its dependency ${dep?.taskId ?? d} is ${dep ? `${dep.state}${dep.dependencyAction ? ` (${dep.dependencyAction})` : ''}` : 'missing'}`,
        );
      }
    }
    const jobState = this.jobs.get(task.jobKey);
    if (jobState === 'completed' || jobState === 'deleting') {
      return this.fail(MONITORS.nothingAfterEnd, `${name} started on ${task.nodeId} after its job became ${jobState}`);
    }
    if (task.nodeId) {
      const slots = this.nodes.liveSlots(task.nodeId);
      const boot = this.nodes.bootedAt(task.nodeId) ?? 0;
      if (slots !== undefined) {
        let used = 0;
        for (const other of this.tasks.values()) {
          if (other.state !== 'running' || other.nodeId !== task.nodeId || (other.startedAt ?? 0) < boot) continue;
          if (other.dispatchId && this.nodes.waitsAhead(task.nodeId, other.dispatchId)) continue;
          used += other.slots;
        }
        if (used > slots) return this.fail(MONITORS.slots, `${name} started on ${task.nodeId}: ${used} slots in use, the node has ${slots}`);
      }
    }
  }

  private jobWritten(job: JobDoc): void {
    const before = this.jobs.get(job.id);
    this.jobs.set(job.id, job.state);
    if (job.state === 'completed' && before !== 'completed') {
      for (const t of this.tasks.values()) {
        if (t.jobKey === job.id && t.state !== 'completed') {
          return this.fail(MONITORS.jobEnd, `job ${job.jobId} completed while its task ${t.taskId} is ${t.state}`);
        }
        // Ended because all its tasks had: none of them can have been cut short by the job's end
        // (a task a failure blocks must end as UpstreamTaskFailed, not JobTerminated).
        if (t.jobKey === job.id && job.executionInfo.terminateReason === 'AllTasksComplete' && t.failureCode === 'JobTerminated') {
          return this.fail(MONITORS.allEnded, `job ${job.jobId} completed as AllTasksComplete but its task ${t.taskId} was ended by the job's end`);
        }
      }
    }
  }

  private nodeWritten(_node: NodeDoc): void {}

  // ---- liveness ---------------------------------------------------------------------------

  /** Hot while some job has not completed, or a bounded property is owed. */
  hot(): boolean {
    for (const state of this.jobs.values()) if (state !== 'completed') return true;
    return this.bounded.some((b) => b.monitor.hot());
  }

  /** Notes which bounded properties are hot now; one hot for longer than its bound is violated. */
  track(now: number): void {
    for (const b of this.bounded) {
      if (!b.monitor.hot()) {
        b.hotSince = undefined;
        continue;
      }
      b.hotSince ??= now;
      if (now - b.hotSince > b.monitor.boundMs) {
        return this.fail(b.monitor.name, `${b.monitor.explain()}, for ${((now - b.hotSince) / 1000).toFixed(1)} s (bound ${b.monitor.boundMs / 1000} s)`);
      }
    }
  }

  /** Names the most specific reason a run that stayed hot is stuck. */
  livenessViolation(): Violation | undefined {
    for (const t of this.tasks.values()) {
      if (t.state !== 'running' || !t.nodeId) continue;
      const booted = this.nodes.bootedAt(t.nodeId);
      const dead = this.nodes.liveSlots(t.nodeId) === undefined || (booted !== undefined && (t.startedAt ?? 0) < booted);
      if (dead) return { monitor: MONITORS.deadNode, message: `${t.jobKey}/${t.taskId} is still running on ${t.nodeId}, which died; it never ran again` };
    }
    for (const t of this.tasks.values()) {
      if (this.jobs.get(t.jobKey) === 'completed' || t.state === 'completed') continue;
      if ((t.scheduling === 'queued' || t.scheduling === 'claimed') && t.dispatchId && !this.nodes.carried(t.dispatchId)) {
        return { monitor: MONITORS.taskLost, message: `${t.jobKey}/${t.taskId} is ${t.scheduling} [${t.dispatchId}] but no queue message or node carries it` };
      }
    }
    for (const { monitor } of this.bounded) if (monitor.hot()) return { monitor: monitor.name, message: monitor.explain() };
    const open = [...this.jobs].filter(([, s]) => s !== 'completed');
    if (open.length) {
      const pending = [...this.tasks.values()].filter((t) => t.state !== 'completed' && open.some(([j]) => j === t.jobKey));
      const sample = pending.slice(0, 5).map((t) => `${t.taskId}:${t.state}/${t.scheduling}`).join(', ');
      return {
        monitor: MONITORS.jobCompletes,
        message: `job(s) ${open.map(([j, s]) => `${j} (${s})`).join(', ')} never completed; ${pending.length} task(s) not ended${sample ? ` (${sample})` : ''}`,
      };
    }
    return undefined;
  }

  /** A one-line summary of task states, for the end of a trace. */
  summary(): string {
    const counts = new Map<string, number>();
    for (const t of this.tasks.values()) counts.set(t.state, (counts.get(t.state) ?? 0) + 1);
    const jobs = [...this.jobs].map(([j, s]) => `${j}:${s}`).join(' ');
    return `jobs ${jobs}; tasks ${[...counts].map(([s, n]) => `${s}=${n}`).join(' ')}`;
  }
}
