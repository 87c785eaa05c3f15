// How a task's end maps to exit options, following the Batch REST reference for ExitConditions
// and ExitOptions (pages "ExitConditions" / "ExitOptions" in the Batch service REST API):
// - An exit code is looked up in exitCodes first, then exitCodeRanges (first matching entry
//   wins), then `default`. This applies to exit code 0 as well: "If you want non-default
//   behavior on exit code 0, you must list it explicitly using the exitCodes or exitCodeRanges
//   collection" -- `default` is never used for exit code 0.
// - A task that could not start (pre-processing error) uses `preProcessingError`, else `default`.
// - Absent fields take Batch's per-condition defaults: for exit code 0 jobAction `none` and
//   dependencyAction `satisfy`; for every other condition jobAction `terminate` and
//   dependencyAction `block`.
// - The jobAction only takes effect when the job's onTaskFailure is performexitoptionsjobaction;
//   with `noaction` (the default) nothing happens to the job (effectiveJobAction).
// fnbatch decision: a task stopped for exceeding maxWallClockTime is treated as failed with no
// exit code (the code of a killed process is platform noise), so it uses `default`.

import type { DependencyAction, ExitConditions, ExitOptions, JobAction, OnTaskFailure, TaskResult } from './model.js';

export type TaskEnding =
  | { kind: 'exited'; exitCode: number }
  | { kind: 'preProcessingError' }
  | { kind: 'timedOut' };

export type ExitOptionsSource = 'exitCodes' | 'exitCodeRanges' | 'preProcessingError' | 'default' | 'batchDefault';

export interface ResolvedExitOptions {
  jobAction: JobAction;
  dependencyAction: DependencyAction;
  /** Which part of exitConditions decided (batchDefault: none did). */
  source: ExitOptionsSource;
}

export function taskResultOf(ending: TaskEnding): TaskResult {
  return ending.kind === 'exited' && ending.exitCode === 0 ? 'success' : 'failure';
}

export function resolveExitOptions(exitConditions: ExitConditions | undefined, ending: TaskEnding): ResolvedExitOptions {
  const succeeded = taskResultOf(ending) === 'success';
  const withDefaults = (options: ExitOptions | undefined, source: ExitOptionsSource): ResolvedExitOptions => ({
    jobAction: options?.jobAction ?? (succeeded ? 'none' : 'terminate'),
    dependencyAction: options?.dependencyAction ?? (succeeded ? 'satisfy' : 'block'),
    source,
  });

  if (ending.kind === 'exited') {
    const code = ending.exitCode;
    const exact = exitConditions?.exitCodes.find((mapping) => mapping.code === code);
    if (exact) return withDefaults(exact.exitOptions, 'exitCodes');
    const ranged = exitConditions?.exitCodeRanges.find((mapping) => mapping.start <= code && code <= mapping.end);
    if (ranged) return withDefaults(ranged.exitOptions, 'exitCodeRanges');
    if (succeeded || !exitConditions?.default) return withDefaults(undefined, 'batchDefault');
    return withDefaults(exitConditions.default, 'default');
  }
  if (ending.kind === 'preProcessingError' && exitConditions?.preProcessingError) {
    return withDefaults(exitConditions.preProcessingError, 'preProcessingError');
  }
  if (exitConditions?.default) return withDefaults(exitConditions.default, 'default');
  return withDefaults(undefined, 'batchDefault');
}

/** The action the job actually takes: none unless the job opted in with performexitoptionsjobaction. */
export function effectiveJobAction(onTaskFailure: OnTaskFailure, resolved: Pick<ResolvedExitOptions, 'jobAction'>): JobAction {
  return onTaskFailure === 'performexitoptionsjobaction' ? resolved.jobAction : 'none';
}
