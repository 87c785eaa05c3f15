import { describe, expect, it } from 'vitest';
import {
  applyJobEvent,
  applyTaskEvent,
  canTransitionJob,
  canTransitionTask,
  effectiveJobAction,
  newStoredJob,
  newStoredTask,
  resolveExitOptions,
  taskResultOf,
  type ExitConditions,
  type JobSpec,
  type StoredTask,
  type TaskSpec,
} from '../../shared/batch/index.js';

describe('exit conditions', () => {
  const conditions: ExitConditions = {
    exitCodes: [
      { code: 0, exitOptions: { dependencyAction: 'block' } },
      { code: 5, exitOptions: { dependencyAction: 'satisfy' } },
    ],
    exitCodeRanges: [
      { start: 1, end: 10, exitOptions: { jobAction: 'disable' } },
      { start: 5, end: 20, exitOptions: { dependencyAction: 'satisfy', jobAction: 'none' } },
    ],
    preProcessingError: { dependencyAction: 'satisfy' },
    default: { jobAction: 'none' },
  };

  it('uses Batch defaults when no exit conditions are given', () => {
    expect(resolveExitOptions(undefined, { kind: 'exited', exitCode: 0 })).toEqual({ jobAction: 'none', dependencyAction: 'satisfy', source: 'batchDefault' });
    expect(resolveExitOptions(undefined, { kind: 'exited', exitCode: 1 })).toEqual({ jobAction: 'terminate', dependencyAction: 'block', source: 'batchDefault' });
    expect(resolveExitOptions(undefined, { kind: 'preProcessingError' }).dependencyAction).toBe('block');
    expect(resolveExitOptions(undefined, { kind: 'timedOut' }).dependencyAction).toBe('block');
  });

  it('looks up exitCodes, then exitCodeRanges (first match), then default', () => {
    expect(resolveExitOptions(conditions, { kind: 'exited', exitCode: 5 })).toEqual({ jobAction: 'terminate', dependencyAction: 'satisfy', source: 'exitCodes' });
    expect(resolveExitOptions(conditions, { kind: 'exited', exitCode: 7 })).toEqual({ jobAction: 'disable', dependencyAction: 'block', source: 'exitCodeRanges' });
    expect(resolveExitOptions(conditions, { kind: 'exited', exitCode: 15 })).toEqual({ jobAction: 'none', dependencyAction: 'satisfy', source: 'exitCodeRanges' });
    expect(resolveExitOptions(conditions, { kind: 'exited', exitCode: -3 })).toEqual({ jobAction: 'none', dependencyAction: 'block', source: 'default' });
  });

  it('never applies default to exit code 0, but honours 0 listed explicitly', () => {
    expect(resolveExitOptions({ exitCodes: [], exitCodeRanges: [], default: { dependencyAction: 'block' } }, { kind: 'exited', exitCode: 0 }).dependencyAction).toBe('satisfy');
    expect(resolveExitOptions(conditions, { kind: 'exited', exitCode: 0 })).toEqual({ jobAction: 'none', dependencyAction: 'block', source: 'exitCodes' });
  });

  it('uses preProcessingError for a task that could not start, default for a timeout', () => {
    expect(resolveExitOptions(conditions, { kind: 'preProcessingError' }).source).toBe('preProcessingError');
    expect(resolveExitOptions(conditions, { kind: 'timedOut' })).toEqual({ jobAction: 'none', dependencyAction: 'block', source: 'default' });
    expect(taskResultOf({ kind: 'exited', exitCode: 0 })).toBe('success');
    expect(taskResultOf({ kind: 'exited', exitCode: 2 })).toBe('failure');
    expect(taskResultOf({ kind: 'timedOut' })).toBe('failure');
  });

  it('only acts on the job when it opted in', () => {
    expect(effectiveJobAction('noaction', { jobAction: 'terminate' })).toBe('none');
    expect(effectiveJobAction('performexitoptionsjobaction', { jobAction: 'terminate' })).toBe('terminate');
  });
});

describe('task state machine', () => {
  const spec: TaskSpec = {
    id: 't',
    commandLine: 'x',
    environmentSettings: [],
    constraints: { maxWallClockTime: 'PT1H', maxTaskRetryCount: 1, retentionTime: 'P7D' },
    requiredSlots: 1,
  };
  const node = { poolId: 'p', nodeId: 'n1' };

  function step(task: StoredTask, event: Parameters<typeof applyTaskEvent>[1], at = '2024-01-01T00:00:01Z'): StoredTask {
    const result = applyTaskEvent(task, event, { expectedVersion: task.stateVersion, at });
    if (!result.ok) throw result.error;
    return result.value;
  }

  it('runs active -> preparing -> running -> completed, bumping the version each time', () => {
    let task = newStoredTask(spec, '2024-01-01T00:00:00Z');
    task = step(task, { type: 'schedule', nodeInfo: node });
    expect(task.state).toBe('preparing');
    task = step(task, { type: 'start' }, '2024-01-01T00:00:02Z');
    expect(task).toMatchObject({ state: 'running', previousState: 'preparing', nodeInfo: node, stateVersion: 2 });
    expect(task.executionInfo.startTime).toBe('2024-01-01T00:00:02Z');
    task = step(task, { type: 'complete', result: 'success', exitCode: 0 }, '2024-01-01T00:00:03Z');
    expect(task).toMatchObject({ state: 'completed', stateVersion: 3 });
    expect(task.executionInfo).toMatchObject({ endTime: '2024-01-01T00:00:03Z', exitCode: 0, result: 'success' });
  });

  it('counts retries and requeues separately', () => {
    let task = step(newStoredTask(spec, 'T0'), { type: 'start', nodeInfo: node });
    task = step(task, { type: 'retry', exitCode: 3 });
    expect(task.state).toBe('active');
    expect(task.executionInfo.retryCount).toBe(1);
    task = step(step(task, { type: 'schedule', nodeInfo: node }), { type: 'requeue' });
    expect(task.executionInfo).toMatchObject({ retryCount: 1, requeueCount: 1 });
    expect(task.nodeInfo).toBeUndefined();
  });

  it('reactivates failed tasks only', () => {
    const failed = step(step(newStoredTask(spec, 'T0'), { type: 'start' }), { type: 'complete', result: 'failure', exitCode: 1 });
    const again = step(failed, { type: 'reactivate' });
    expect(again.state).toBe('active');
    expect(again.executionInfo.result).toBeUndefined();
    const succeeded = step(step(newStoredTask(spec, 'T0'), { type: 'start' }), { type: 'complete', result: 'success', exitCode: 0 });
    const refused = applyTaskEvent(succeeded, { type: 'reactivate' }, { expectedVersion: succeeded.stateVersion, at: 'T' });
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error.code).toBe('TaskSucceeded');
  });

  it('rejects illegal transitions and stale or duplicate reports', () => {
    expect(canTransitionTask('active', 'retry')).toBe(false);
    expect(canTransitionTask('completed', 'start')).toBe(false);
    expect(canTransitionTask('running', 'requeue')).toBe(true);
    const running = step(newStoredTask(spec, 'T0'), { type: 'start' });
    const done = step(running, { type: 'complete', result: 'success', exitCode: 0 });
    const duplicate = applyTaskEvent(done, { type: 'complete', result: 'success', exitCode: 0 }, { expectedVersion: running.stateVersion, at: 'T' });
    expect(duplicate).toMatchObject({ ok: false, reason: 'stale' });
    if (!duplicate.ok) expect(duplicate.error.status).toBe(412);
    const illegal = applyTaskEvent(done, { type: 'start' }, { expectedVersion: done.stateVersion, at: 'T' });
    expect(illegal).toMatchObject({ ok: false, reason: 'illegal' });
    if (!illegal.ok) expect(illegal.error.code).toBe('TaskCompleted');
  });
});

describe('job state machine', () => {
  const spec: JobSpec = {
    id: 'j',
    poolInfo: { poolId: 'p' },
    priority: 0,
    constraints: { maxWallClockTime: 'PT1H', maxTaskRetryCount: 0 },
    usesTaskDependencies: false,
    onAllTasksComplete: 'noaction',
    onTaskFailure: 'noaction',
    commonEnvironmentSettings: [],
    maxParallelTasks: -1,
    metadata: [],
  };

  it('disables, enables, terminates and deletes', () => {
    let job = newStoredJob(spec, 'T0');
    const apply = (event: Parameters<typeof applyJobEvent>[1]) => {
      const result = applyJobEvent(job, event, { expectedVersion: job.stateVersion, at: `T${job.stateVersion + 1}` });
      if (!result.ok) throw result.error;
      job = result.value;
      return job.state;
    };
    expect(apply({ type: 'disable' })).toBe('disabling');
    expect(apply({ type: 'disabled' })).toBe('disabled');
    expect(apply({ type: 'enable' })).toBe('enabling');
    expect(apply({ type: 'enabled' })).toBe('active');
    expect(apply({ type: 'terminate', terminateReason: 'UserTerminate' })).toBe('terminating');
    expect(apply({ type: 'terminated' })).toBe('completed');
    expect(job.executionInfo).toEqual({ startTime: 'T0', endTime: 'T6', terminateReason: 'UserTerminate' });
    const again = applyJobEvent(job, { type: 'terminate' }, { expectedVersion: job.stateVersion, at: 'T' });
    expect(again.ok).toBe(false);
    if (!again.ok) expect(again.error.code).toBe('JobCompleted');
    expect(apply({ type: 'delete' })).toBe('deleting');
    expect(canTransitionJob('deleting', 'delete')).toBe(false);
    expect(canTransitionJob('disabled', 'disable')).toBe(false);
  });

  it('refuses a stale request', () => {
    const job = newStoredJob(spec, 'T0');
    const result = applyJobEvent(job, { type: 'disable' }, { expectedVersion: 7, at: 'T' });
    expect(result).toMatchObject({ ok: false, reason: 'stale' });
  });
});
