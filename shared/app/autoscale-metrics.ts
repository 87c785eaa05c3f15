// The read-only service variables of one pool at one moment, read from the store: task counts over
// the pool's active jobs and node figures from the nodes' heartbeats.
import type { MetricReading } from '../autoscale/index.js';
import type { AppContext } from './context.js';
import { jobKey, poolKey, type JobDoc, type NodeDoc, type PoolDoc, type TaskDoc } from './documents.js';
import { NODE_DEAD_AFTER_MS } from './task-lifecycle.js';

export interface PoolTaskCounts {
  active: number;
  running: number;
  succeeded: number;
  failed: number;
}

/** The pool's jobs that can still run tasks (submissions still being written are not jobs yet). */
export async function activeJobsOfPool(ctx: AppContext, poolId: string): Promise<JobDoc[]> {
  const key = poolKey(poolId);
  const jobs: JobDoc[] = [];
  let continuation: string | undefined;
  do {
    const page = await ctx.jobs.queryAll({ where: { state: 'active' }, limit: 500, continuation });
    for (const { item } of page.items) {
      if (!item.provisioning && poolKey(item.poolInfo.poolId) === key) jobs.push(item);
    }
    continuation = page.continuation;
  } while (continuation);
  return jobs;
}

/**
 * $ActiveTasks counts tasks ready to run: queued ones, and waiting ones without dependencies,
 * which the job's orchestration is about to queue. Counting the latter lets the evaluation that a
 * job submission triggers already see the job's work, before the first dispatch.
 */
export function isReady(task: TaskDoc): boolean {
  if (task.state !== 'active') return false;
  if (task.scheduling === 'queued') return true;
  return task.scheduling === 'waiting' && !hasDependencies(task);
}

function hasDependencies(task: TaskDoc): boolean {
  const deps = task.dependsOn;
  return !!deps && ((deps.taskIds?.length ?? 0) > 0 || (deps.taskIdRanges?.length ?? 0) > 0);
}

export async function countPoolTasks(ctx: AppContext, jobs: readonly JobDoc[]): Promise<PoolTaskCounts> {
  const counts: PoolTaskCounts = { active: 0, running: 0, succeeded: 0, failed: 0 };
  for (const job of jobs) {
    let continuation: string | undefined;
    do {
      const page = await ctx.tasks.query(jobKey(job.jobId), { limit: 2000, continuation });
      for (const { item } of page.items) {
        if (isReady(item)) counts.active++;
        else if (item.scheduling === 'claimed' && item.state !== 'completed') counts.running++;
        else if (item.state === 'completed') {
          if (item.executionInfo.result === 'success') counts.succeeded++;
          else counts.failed++;
        }
      }
      continuation = page.continuation;
    } while (continuation);
  }
  return counts;
}

/** Node figures: preempted nodes, and the averages over nodes that heartbeated recently. */
export function nodeReading(nodes: readonly NodeDoc[], now: number): MetricReading {
  const reporting = nodes.filter(
    (n) =>
      n.metrics !== undefined &&
      n.lastHeartbeatAt !== undefined &&
      now - n.lastHeartbeatAt <= NODE_DEAD_AFTER_MS &&
      n.state !== 'preempted' &&
      n.state !== 'unusable',
  );
  const reading: MetricReading = {
    PreemptedNodeCount: nodes.filter((n) => n.state === 'preempted').length,
    SampleNodeCount: reporting.length,
  };
  if (reporting.length) {
    reading.CPUPercent = reporting.reduce((sum, n) => sum + n.metrics!.cpuPercent, 0) / reporting.length;
    reading.MemoryBytes = reporting.reduce((sum, n) => sum + n.metrics!.memoryBytes, 0) / reporting.length;
  }
  return reading;
}

/** Every service variable fnbatch can supply for the pool, now. */
export async function readPoolMetrics(ctx: AppContext, pool: PoolDoc): Promise<{ reading: MetricReading; tasks: PoolTaskCounts }> {
  const now = ctx.now();
  const [jobs, nodes] = await Promise.all([activeJobsOfPool(ctx, pool.poolId), ctx.nodes.query(pool.id)]);
  const tasks = await countPoolTasks(ctx, jobs);
  const reading: MetricReading = {
    ActiveTasks: tasks.active,
    RunningTasks: tasks.running,
    PendingTasks: tasks.active + tasks.running,
    SucceededTasks: tasks.succeeded,
    FailedTasks: tasks.failed,
    CurrentDedicatedNodes: pool.currentDedicatedNodes,
    CurrentLowPriorityNodes: pool.currentLowPriorityNodes,
    ...nodeReading(
      nodes.items.map((n) => n.item),
      now,
    ),
  };
  return { reading, tasks };
}
