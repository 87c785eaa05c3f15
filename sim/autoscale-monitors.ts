// Liveness of an autoscaled pool, in the hot/cold style of the other monitors: a monitor is hot
// while the pool owes something, and a correct system cools it within a bound (a formula's
// evaluation interval, a boot, a few failed provider calls). Pending work is counted the way the
// service's $PendingTasks counts it (ready or claimed tasks of active jobs), kept up to date from
// the store writes the monitors see rather than recounted on every step.
import { isReady } from '../shared/app/autoscale-metrics.js';
import type { JobDoc, TaskDoc } from '../shared/app/documents.js';
import type { AutoScaleSetup } from './scenario.js';

/** A property that must not stay hot for longer than its bound. */
export interface LivenessMonitor {
  readonly name: string;
  readonly boundMs: number;
  hot(): boolean;
  /** Why it is hot, for the report. */
  explain(): string;
}

/** What the monitors need to know about the pool's nodes. */
export interface PoolNodesView {
  /** Nodes running an agent that takes work (alive, not told to leave). */
  usableNodes(): number;
  /** Instances that exist or are being created (not failed, evicted or deleted). */
  liveInstances(): number;
}

export const AUTOSCALE_MONITORS = {
  grows: 'PendingWorkGrowsPool',
  shrinks: 'IdlePoolShrinksToFloor',
} as const;

export class AutoScaleMonitors {
  /** Pending task keys, per job. */
  private readonly pending = new Map<string, Set<string>>();
  private readonly jobs = new Map<string, JobDoc['state']>();
  readonly monitors: LivenessMonitor[];

  constructor(
    private readonly setup: AutoScaleSetup,
    private readonly nodes: PoolNodesView,
  ) {
    this.monitors = [
      {
        name: AUTOSCALE_MONITORS.grows,
        boundMs: setup.growWithinMs,
        // Enough usable nodes for the pending work, up to what the formula allows.
        hot: () => {
          const pending = this.pendingCount();
          return pending > 0 && this.nodes.usableNodes() < Math.min(setup.maxNodes, pending);
        },
        explain: () => `${this.pendingCount()} task(s) pending, ${this.nodes.usableNodes()} usable node(s), the formula allows ${setup.maxNodes}`,
      },
      {
        // Settles at its floor: shrinks to it, and grows back to it after losing a node.
        name: AUTOSCALE_MONITORS.shrinks,
        boundMs: setup.shrinkWithinMs,
        hot: () => this.idle() && this.nodes.liveInstances() !== setup.floorNodes,
        explain: () => `every job has ended, yet the pool has ${this.nodes.liveInstances()} instance(s), not its floor of ${setup.floorNodes}`,
      },
    ];
  }

  jobWritten(job: JobDoc): void {
    this.jobs.set(job.id, job.state);
  }

  taskWritten(task: TaskDoc): void {
    let set = this.pending.get(task.jobId);
    if (!set) this.pending.set(task.jobId, (set = new Set()));
    const pending = isReady(task) || (task.scheduling === 'claimed' && task.state !== 'completed');
    if (pending) set.add(task.id);
    else set.delete(task.id);
  }

  private pendingCount(): number {
    let n = 0;
    for (const [jobId, set] of this.pending) if (this.jobs.get(jobId) === 'active') n += set.size;
    return n;
  }

  private idle(): boolean {
    for (const state of this.jobs.values()) if (state !== 'completed') return false;
    return true;
  }
}
