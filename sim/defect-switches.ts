// The bug benchmark's catalogue: realistic defects, each a one-line switch in the production code
// (shared/app/defects.ts), with the scenario that can reach it and the monitor expected to catch it.
import { setDefectsForSimulation } from '../shared/app/defects.js';

export interface DefectInfo {
  name: string;
  /** Where the switch is and what goes wrong. */
  description: string;
  scenario: string;
  /**
   * For defects that random search needs hundreds of iterations to reach: a seed (random
   * strategy) known to expose it, so CI can check it in one run.
   */
  ciSeed?: number;
}

export const DEFECTS: DefectInfo[] = [
  { name: 'missing-etag-check', scenario: 'cancel-race', description: 'etag-retry: read-modify-write without If-Match (last writer wins)' },
  { name: 'completion-counted-twice', scenario: 'dag-faults', description: 'completeTask: a repeated report of an ended task completes it again' },
  { name: 'claim-ignores-dispatch', scenario: 'two-jobs', description: 'claimTask: a stale (duplicate or late) message of an earlier dispatch is granted' },
  { name: 'retry-signals-ended', scenario: 'dag-faults', description: 'completeTask: a failed attempt that is retried also tells the orchestration the task ended (dependency check races the retry)' },
  { name: 'finish-skips-queued', scenario: 'cancel-race', description: 'finishJob: tasks being dispatched (queued) when the job is terminated are left active' },
  { name: 'finish-job-first', scenario: 'cancel-race', description: 'finishJob: the job is marked completed before its tasks are ended' },
  { name: 'terminate-task-silent', scenario: 'cancel-race', description: 'terminateTask: the orchestration is not told the task ended (lost notification)' },
  { name: 'dead-node-tasks-stuck', scenario: 'dag-faults', description: 'claims and lost-node handling treat a dead holder as alive (node death)' },
  { name: 'dispatch-not-idempotent', scenario: 'host-crashes', description: 'dispatchTasks: a re-run dispatch skips tasks it marked queued but whose message a crash lost' },
  { name: 'lost-wakeup', scenario: 'dag-faults', description: 'job orchestrator: a task-ended event arriving while a dispatch is in flight is dropped' },
  { name: 'nondeterministic-orchestrator', scenario: 'host-crashes', description: 'job orchestrator: calls an extra activity only when not replaying' },
  { name: 'upstream-failure-dropped', scenario: 'dag-faults', description: 'job orchestrator: dependents of a blocking failure are never failed upstream' },
];

export const DEFECT_NAMES = DEFECTS.map((d) => d.name);

export function enableDefects(names: readonly string[]): void {
  setDefectsForSimulation(names);
}
