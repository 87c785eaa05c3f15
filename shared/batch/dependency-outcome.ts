// What happens to dependents when a task ends. Batch leaves a task whose dependency blocked it
// waiting forever; fnbatch extends that: a blocked dependent completes at once with result
// `failure` and failureInfo code `UpstreamTaskFailed` naming the upstream task, and the block
// spreads down the DAG (a task failed this way blocks its own dependents).
//
// The orchestrator keeps one DagRun per job and calls onTaskEnded once per task end (after its
// retries are exhausted). Work is O(out-degree) per ended task, so a whole run is O(V + E).

import type { TaskDag, DagTaskInput } from './dag.js';
import { BatchErrorCodes, taskNotFound } from './errors.js';
import type { DependencyAction, TaskFailureInfo } from './model.js';

export interface DependencyOutcome {
  dependencyAction: DependencyAction;
}

export interface UpstreamFailure {
  taskId: string;
  /** The task whose end blocked this one (a direct dependency). */
  upstreamTaskId: string;
  /** The task that actually ran and failed, at the start of the chain of blocks. */
  rootTaskId: string;
}

export interface ReadinessChange {
  /** Tasks whose dependencies are now all satisfied; each is reported once. */
  nowReady: string[];
  /** Tasks that can never run and are now complete with UpstreamTaskFailed, in order of discovery. */
  nowFailedUpstream: UpstreamFailure[];
}

export type RunTaskStatus = 'waiting' | 'ready' | 'ended' | 'failedUpstream';

const WAITING = 0;
const READY = 1;
const ENDED = 2;
const FAILED_UPSTREAM = 3;
const STATUS_NAMES: readonly RunTaskStatus[] = ['waiting', 'ready', 'ended', 'failedUpstream'];

const UNDECIDED = 0;
const MET = 1;
const BLOCKED = 2;

/** Runtime dependency state of one job's DAG. Construct with startRun. */
export class DagRun {
  /** @internal */ readonly status: number[] = [];
  /** @internal */ readonly blocks: boolean[] = [];
  /** @internal */ readonly rootCause: number[] = [];
  /** @internal */ readonly unmetRequirements: number[] = [];
  /** @internal */ readonly requirementState: number[] = [];
  /** @internal */ readonly membersNotEnded: number[] = [];
  /** @internal */ finishedCount = 0;

  constructor(readonly dag: TaskDag) {}

  statusOf(taskId: string): RunTaskStatus {
    const node = this.dag.nodeOf(taskId);
    if (node === undefined || node >= this.status.length) throw taskNotFound(taskId);
    return STATUS_NAMES[this.status[node]!]!;
  }

  /** True when every task has ended or failed upstream. */
  get finished(): boolean {
    return this.finishedCount === this.status.length;
  }
}

/** The run state for a DAG, and the tasks that can start immediately. */
export function startRun(dag: TaskDag): { run: DagRun; change: ReadinessChange } {
  const run = new DagRun(dag);
  return { run, change: admitNewNodes(run) };
}

/** Adds tasks to a running job's DAG (all-or-nothing) and reports which of them are ready or already blocked. */
export function addTasksToRun(run: DagRun, tasks: readonly DagTaskInput[]): ReadinessChange {
  run.dag.addTasks(tasks);
  return admitNewNodes(run);
}

/**
 * Records that `taskId` ended with `outcome` and returns the dependents that became ready or
 * failed upstream. A second report for a task that already ended changes nothing.
 */
export function onTaskEnded(run: DagRun, taskId: string, outcome: DependencyOutcome): ReadinessChange {
  const node = run.dag.nodeOf(taskId);
  if (node === undefined || node >= run.status.length) throw taskNotFound(taskId);
  const change: ReadinessChange = { nowReady: [], nowFailedUpstream: [] };
  const status = run.status[node]!;
  if (status === ENDED || status === FAILED_UPSTREAM) return change;
  run.status[node] = ENDED;
  run.finishedCount++;
  run.blocks[node] = outcome.dependencyAction === 'block';
  run.rootCause[node] = node;
  propagate(run, node, change);
  return change;
}

/** failureInfo for a task that failed upstream. */
export function upstreamFailureInfo(failure: UpstreamFailure): TaskFailureInfo {
  const viaRoot = failure.rootTaskId === failure.upstreamTaskId ? '' : ` (which was itself blocked by task '${failure.rootTaskId}')`;
  return {
    category: 'usererror',
    code: BatchErrorCodes.UpstreamTaskFailed,
    message: `The task did not run because task '${failure.upstreamTaskId}'${viaRoot}, which it depends on, completed with a dependency action of block.`,
    details: [
      { name: 'UpstreamTaskId', value: failure.upstreamTaskId },
      { name: 'RootTaskId', value: failure.rootTaskId },
    ],
  };
}

function admitNewNodes(run: DagRun): ReadinessChange {
  const { dag } = run;
  const change: ReadinessChange = { nowReady: [], nowFailedUpstream: [] };
  const firstNew = run.status.length;
  for (let node = firstNew; node < dag.size; node++) {
    run.status.push(WAITING);
    run.blocks.push(false);
    run.rootCause.push(-1);
    run.unmetRequirements.push(0);
  }
  const admitted = new Set<number>();
  for (let requirement = run.requirementState.length; requirement < dag.requirementCount(); requirement++) {
    run.requirementState.push(UNDECIDED);
    run.membersNotEnded.push(0);
  }
  // New nodes appear in topological order at the end of the DAG's order, so every new
  // dependency is admitted (and its fate known) before its dependents.
  const order = dag.topologicalNodes();
  for (let position = order.length - (dag.size - firstNew); position < order.length; position++) {
    const node = order[position]!;
    admitted.add(node);
    let unmet = 0;
    let blockedBy = -1;
    for (const requirement of dag.requirementsOf(node)) {
      let notEnded = 0;
      let met = false;
      let blocker = -1;
      for (const member of dag.membersOf(requirement)) {
        const memberStatus = run.status[member]!;
        const memberAdmitted = member < firstNew || admitted.has(member);
        if (!memberAdmitted || memberStatus === WAITING || memberStatus === READY) notEnded++;
        else if (run.blocks[member]) blocker = member;
        else met = true;
      }
      run.membersNotEnded[requirement] = notEnded;
      if (met) run.requirementState[requirement] = MET;
      else if (notEnded === 0) {
        run.requirementState[requirement] = BLOCKED;
        if (blockedBy === -1) blockedBy = blocker;
      } else unmet++;
    }
    run.unmetRequirements[node] = unmet;
    if (blockedBy !== -1) {
      failUpstream(run, node, blockedBy, change);
      propagate(run, node, change, admitted, firstNew);
    } else if (unmet === 0) {
      run.status[node] = READY;
      change.nowReady.push(dag.idOf(node));
    }
  }
  return change;
}

function failUpstream(run: DagRun, node: number, upstream: number, change: ReadinessChange): void {
  run.status[node] = FAILED_UPSTREAM;
  run.finishedCount++;
  run.blocks[node] = true;
  run.rootCause[node] = run.rootCause[upstream]!;
  change.nowFailedUpstream.push({
    taskId: run.dag.idOf(node),
    upstreamTaskId: run.dag.idOf(upstream),
    rootTaskId: run.dag.idOf(run.rootCause[node]!),
  });
}

/**
 * Applies the end of `start` to the requirements it is a member of, following blocks downstream.
 * During admission, requirements of dependents not yet admitted are skipped: admission reads
 * their members' state directly.
 */
function propagate(run: DagRun, start: number, change: ReadinessChange, admitted?: ReadonlySet<number>, firstNew = Infinity): void {
  const { dag } = run;
  const worklist = [start];
  while (worklist.length > 0) {
    const ended = worklist.pop()!;
    const blocks = run.blocks[ended]!;
    for (const requirement of dag.requirementsWithMember(ended)) {
      const dependent = dag.dependentOf(requirement);
      if (dependent >= firstNew && !admitted?.has(dependent)) continue;
      if (run.requirementState[requirement] !== UNDECIDED) continue;
      if (!blocks) {
        run.requirementState[requirement] = MET;
        run.unmetRequirements[dependent]!--;
        if (run.unmetRequirements[dependent] === 0 && run.status[dependent] === WAITING) {
          run.status[dependent] = READY;
          change.nowReady.push(dag.idOf(dependent));
        }
        continue;
      }
      run.membersNotEnded[requirement]!--;
      if (run.membersNotEnded[requirement] !== 0) continue;
      run.requirementState[requirement] = BLOCKED;
      if (run.status[dependent] === WAITING) {
        failUpstream(run, dependent, ended, change);
        worklist.push(dependent);
      }
    }
  }
}
