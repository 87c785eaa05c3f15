// A job's DAG in motion, advanced by one activity. The job orchestration hears of task ends and
// added tasks and hands them here in batches; this module folds them into the job's DagRun
// (the pure domain code in shared/batch), writes the failures of tasks a block made impossible,
// and dispatches ready tasks up to maxParallelTasks, longest chain of dependents first
// (shared/batch/dispatch-order.ts). The orchestration itself keeps only counts,
// so its replays cost the same for a job of ten tasks and one of 100,000.
//
// The DagRun lives in this process's memory between calls. It is only a cache of what the store
// says: every end it folds in is already written to the store, and it is rebuilt from the store
// whenever it cannot be trusted (a new process, another process ran the previous call, a call
// ran twice, a reload after reactivation). The orchestration numbers its calls; the cache is used
// only by the call that directly follows the one that left it.
import { addTasksToRun, DispatchOrder, onTaskEnded, startRun, TaskDag, type DagRun, type DependencyAction, type ReadinessChange, type UpstreamFailure } from '../batch/index.js';
import { runGivingWay } from '../give-way.js';
import type { AppContext } from './context.js';
import { jobKey, poolKey, taskKey } from './documents.js';
import { checkInflight, failUpstream, loadTasks, snapshotOf, type SnapshotTask } from './job-runner.js';
import { dispatchTasks } from './task-lifecycle.js';
import { defect } from './defects.js';
import type { TaskEnd } from './job-events.js';

/** Dispatched per call at most: a big ready set goes out over several calls, with ends folded in between. */
export const DISPATCH_PER_CALL = 512;
/**
 * A job keeps at most this many times its pool's slots in flight (queued or running), and never
 * fewer than MIN_AHEAD: enough for every free slot to find work at once, without putting a
 * 100,000-task job's whole ready set on the queue (where every receive would wade through it).
 */
const AHEAD_PER_SLOT = 2;
const MIN_AHEAD = 64;
/** The pool's size is read again after this long (it changes with resizes and autoscale). */
const AHEAD_REFRESH_MS = 2_000;
const DISPATCH_CHUNK = 256;
/** Tasks a sweep asks the store about at a time. */
const SWEEP_BATCH = 500;
/** Jobs whose DagRun a process keeps; the least recently advanced is dropped first. */
const CACHED_JOBS = 64;

/** Of a task's end, what the DAG needs: which task, and whether its dependents may run. */
export type HeardEnd = Pick<TaskEnd, 'taskId' | 'dependencyAction'>;

/** What the job's orchestration heard since its last call. */
export interface Heard {
  ended: HeardEnd[];
  /** Ids announced as added. */
  added: string[];
  /** Task states changed outside the orchestration (reactivation): read everything again. */
  reload: boolean;
  /**
   * Ask the store about every task in flight, whose end notice or message may be lost: the
   * watchdog fired, or a generation handed over (events it had not read yet are gone with it).
   */
  sweep: boolean;
}

export interface AdvanceRequest extends Heard {
  jobId: string;
  /** Identifies one run of the job's orchestration (a re-created job gets a new one). */
  runId: string;
  /** This call's number within the run, from 1; the cache serves only call `seq` after call `seq - 1`. */
  seq: number;
  /** False while the job is disabled or ending: nothing new is dispatched. */
  dispatch: boolean;
  maxParallelTasks: number;
}

export interface JobProgress {
  /** Dispatched and not yet ended. */
  inflight: number;
  /** Ready and waiting for room (maxParallelTasks, the dispatch window) or for the next call. */
  backlog: number;
  /** A call made now would dispatch more: the last one stopped at its own limit, not for lack of room. */
  more: boolean;
  /** Every task of the job has ended (no task in flight, none ready). */
  finished: boolean;
  dispatched: number;
  failedUpstream: number;
  resent: number;
}

type Status = SnapshotTask['status'];

interface RunState {
  runId: string;
  seq: number;
  run: DagRun;
  status: Map<string, Status>;
  /** Ready tasks still waiting in the store, in the order they go out. */
  ready: DispatchOrder;
  inflight: Set<string>;
  upstreamFailures: UpstreamFailure[];
  ahead?: { tasks: number; readAt: number };
}

const cache = new Map<string, RunState>();

/** Forgets every cached DagRun: what a process restart does (the simulator's host crash). */
export function forgetJobProgress(): void {
  cache.clear();
}

export async function advanceJob(ctx: AppContext, req: AdvanceRequest): Promise<JobProgress> {
  const cached = cache.get(req.jobId);
  // Taken out while in use: a failure half-way leaves nothing behind that a retry could trust.
  cache.delete(req.jobId);
  const trusted = cached && cached.runId === req.runId && cached.seq === req.seq - 1 && !req.reload;
  const state = trusted ? cached : await rebuild(ctx, req);

  const fresh = req.added.filter((id) => !state.run.dag.has(id));
  if (fresh.length) {
    const added = await loadTasks(ctx, jobKey(req.jobId), new Set(fresh.map((id) => id.toLowerCase())));
    const unseen = added.filter((t) => !state.run.dag.has(t.id));
    for (const t of unseen) state.status.set(t.id, t.status);
    const change = addTasksToRun(state.run, unseen.map((t) => ({ id: t.id, dependsOn: t.dependsOn })));
    state.ready.admitNewNodes();
    absorb(state, change);
    for (const t of unseen) {
      if (t.status === 'inflight') state.inflight.add(t.id);
      else if (t.status === 'ended') endTask(state, t.id, t.dependencyAction ?? 'block');
    }
  }
  for (const end of req.ended) {
    if (state.status.has(end.taskId) && state.status.get(end.taskId) !== 'ended') endTask(state, end.taskId, end.dependencyAction);
  }

  let resent = 0;
  if (req.sweep) {
    const suspects = [...state.inflight];
    for (let i = 0; i < suspects.length; i += SWEEP_BATCH) {
      const check = await checkInflight(ctx, req.jobId, suspects.slice(i, i + SWEEP_BATCH));
      for (const t of check.ended) if (state.inflight.has(t.id)) endTask(state, t.id, t.dependencyAction ?? 'block');
      resent += check.resent.length;
    }
  }

  const failedUpstream = state.upstreamFailures.length;
  if (failedUpstream) await failUpstream(ctx, req.jobId, state.upstreamFailures.splice(0));

  let dispatched = 0;
  let more = false;
  if (req.dispatch && state.ready.size) {
    const allowed = req.maxParallelTasks === -1 ? Number.POSITIVE_INFINITY : req.maxParallelTasks;
    const limit = Math.min(allowed, await dispatchAhead(ctx, state, req.jobId));
    const take = Math.min(limit - state.inflight.size, DISPATCH_PER_CALL, state.ready.size);
    if (take > 0) {
      const outcome = await dispatchReady(ctx, state, req.jobId, state.ready.take(take));
      dispatched = outcome.dispatched;
      // Tasks the store would not let go (the job is no longer active) wait for the next event.
      more = !outcome.refused && state.ready.size > 0 && state.inflight.size < limit;
    }
  }

  cache.set(req.jobId, { ...state, seq: req.seq });
  while (cache.size > CACHED_JOBS) cache.delete(cache.keys().next().value!);
  const finished = state.run.finished && state.inflight.size === 0;
  if (finished) cache.delete(req.jobId);
  return { inflight: state.inflight.size, backlog: state.ready.size, more, finished, dispatched, failedUpstream, resent };
}

async function dispatchAhead(ctx: AppContext, state: RunState, jobId: string): Promise<number> {
  const now = ctx.now();
  if (state.ahead && now - state.ahead.readAt < AHEAD_REFRESH_MS) return state.ahead.tasks;
  const tasks = await poolWindow(ctx, jobId);
  state.ahead = { tasks, readAt: now };
  return tasks;
}

async function poolWindow(ctx: AppContext, jobId: string): Promise<number> {
  const key = jobKey(jobId);
  const job = await ctx.jobs.read(key, key);
  const pool = job && (await ctx.pools.read(poolKey(job.item.poolInfo.poolId), poolKey(job.item.poolInfo.poolId)));
  if (!pool) return MIN_AHEAD;
  const { taskSlotsPerNode, targetDedicatedNodes, targetLowPriorityNodes, currentDedicatedNodes, currentLowPriorityNodes } = pool.item;
  const nodes = Math.max(targetDedicatedNodes + targetLowPriorityNodes, currentDedicatedNodes + currentLowPriorityNodes);
  return Math.max(MIN_AHEAD, AHEAD_PER_SLOT * taskSlotsPerNode * nodes);
}

/**
 * Dispatches in chunks. A task the dispatch skipped was no longer waiting in the store: it is in
 * flight (an earlier dispatch got there first), or it ended (its end is folded in now rather than
 * waited for), or the job stopped being active (it goes back to the ready list).
 */
async function dispatchReady(ctx: AppContext, state: RunState, jobId: string, taskIds: string[]): Promise<{ dispatched: number; refused: boolean }> {
  let dispatched = 0;
  let refused = false;
  for (let i = 0; i < taskIds.length; i += DISPATCH_CHUNK) {
    const chunk = taskIds.slice(i, i + DISPATCH_CHUNK);
    for (const id of chunk) {
      state.inflight.add(id);
      state.status.set(id, 'inflight');
    }
    const result = await dispatchTasks(ctx, jobId, chunk);
    dispatched += result.dispatched.length;
    if (result.skipped.length && (await settleSkipped(ctx, state, jobId, result.skipped))) refused = true;
  }
  return { dispatched, refused };
}

/** Returns whether any task was still waiting: the store refused to dispatch it. */
async function settleSkipped(ctx: AppContext, state: RunState, jobId: string, taskIds: string[]): Promise<boolean> {
  const key = jobKey(jobId);
  let refused = false;
  const docs = await Promise.all(taskIds.map((id) => ctx.tasks.read(taskKey(id), key)));
  docs.forEach((doc, i) => {
    const id = taskIds[i]!;
    const task = doc && snapshotOf(doc.item);
    // A task gone from the store (its job being deleted) counts as ended, blocking its dependents.
    if (!task || task.status === 'ended') endTask(state, id, task?.dependencyAction ?? 'block');
    else if (task.status === 'waiting') {
      state.inflight.delete(id);
      state.status.set(id, 'waiting');
      state.ready.push(id);
      refused = true;
    }
  });
  return refused;
}

async function rebuild(ctx: AppContext, req: AdvanceRequest): Promise<RunState> {
  const tasks = await loadTasks(ctx, jobKey(req.jobId));
  // A job of 100,000 tasks takes a few hundred ms to build: others' requests go on meanwhile.
  const dag = await runGivingWay(TaskDag.ofInSteps(tasks.map((t) => ({ id: t.id, dependsOn: t.dependsOn }))));
  const started = startRun(dag);
  const state: RunState = {
    runId: req.runId,
    seq: req.seq - 1,
    run: started.run,
    status: new Map(tasks.map((t) => [t.id, t.status])),
    ready: new DispatchOrder(dag),
    inflight: new Set(),
    upstreamFailures: [],
  };
  absorb(state, started.change);
  for (const t of tasks) {
    if (t.status === 'ended') endTask(state, t.id, t.dependencyAction ?? 'block');
    else if (t.status === 'inflight') state.inflight.add(t.id);
  }
  return state;
}

function endTask(state: RunState, taskId: string, dependencyAction: DependencyAction): void {
  state.status.set(taskId, 'ended');
  state.inflight.delete(taskId);
  absorb(state, onTaskEnded(state.run, taskId, { dependencyAction }));
}

/** Folds a readiness change in: ready tasks still waiting in the store get dispatched. */
function absorb(state: RunState, change: ReadinessChange): void {
  for (const id of change.nowReady) if (state.status.get(id) === 'waiting') state.ready.push(id);
  if (defect('upstream-failure-dropped')) return;
  for (const failure of change.nowFailedUpstream) {
    if (state.status.get(failure.taskId) === 'ended') continue;
    state.status.set(failure.taskId, 'ended');
    state.inflight.delete(failure.taskId);
    state.upstreamFailures.push(failure);
  }
}
