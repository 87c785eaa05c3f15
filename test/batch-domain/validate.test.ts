import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BatchError,
  CaseInsensitiveIdSet,
  UNLIMITED_DURATION_ISO,
  VALIDATION_STEP,
  validateJobSubmission,
  validateJobSubmissionInSteps,
  validateTask,
  validateTaskCollection,
  validateTaskCollectionPerTask,
  type JobForTasks,
} from '../../shared/batch/index.js';
import { caught } from '../support/caught.js';
import { driveSteps } from '../support/drive-steps.js';


const depJob: JobForTasks = { usesTaskDependencies: true, onTaskFailure: 'noaction', constraints: { maxTaskRetryCount: 2 } };
const plainJob: JobForTasks = { usesTaskDependencies: false, onTaskFailure: 'noaction', constraints: { maxTaskRetryCount: 0 } };

const job = (extra: Record<string, unknown> = {}) => ({ id: 'job-1', poolInfo: { poolId: 'pool-1' }, ...extra });
const task = (id: string, extra: Record<string, unknown> = {}) => ({ id, commandLine: `echo ${id}`, ...extra });

describe('validateJobSubmission', () => {
  it('applies Batch defaults to a minimal job', () => {
    const { job: spec, tasks } = validateJobSubmission(job());
    expect(spec).toEqual({
      id: 'job-1',
      poolInfo: { poolId: 'pool-1' },
      priority: 0,
      constraints: { maxWallClockTime: UNLIMITED_DURATION_ISO, maxTaskRetryCount: 0 },
      usesTaskDependencies: false,
      onAllTasksComplete: 'noaction',
      onTaskFailure: 'noaction',
      commonEnvironmentSettings: [],
      maxParallelTasks: -1,
      metadata: [],
    });
    expect(tasks).toEqual([]);
  });

  it('keeps given values, normalizes enum case and durations, ignores unknown properties', () => {
    const { job: spec } = validateJobSubmission(
      job({
        displayName: 'nightly',
        priority: -1000,
        constraints: { maxWallClockTime: 'PT90M', maxTaskRetryCount: -1 },
        usesTaskDependencies: true,
        onAllTasksComplete: 'terminateJob',
        onTaskFailure: 'performExitOptionsJobAction',
        commonEnvironmentSettings: [{ name: 'A', value: '1' }, { name: 'B' }],
        maxParallelTasks: 4,
        metadata: [{ name: 'owner', value: 'me' }],
        somethingNew: { x: 1 },
      }),
    );
    expect(spec.constraints).toEqual({ maxWallClockTime: 'PT1H30M', maxTaskRetryCount: -1 });
    expect(spec.onAllTasksComplete).toBe('terminatejob');
    expect(spec.onTaskFailure).toBe('performexitoptionsjobaction');
    expect(spec.commonEnvironmentSettings).toEqual([{ name: 'A', value: '1' }, { name: 'B' }]);
    expect(spec).not.toHaveProperty('somethingNew');
  });

  it.each([
    ['not an object', [], 'InvalidRequestBody', undefined],
    ['missing id', { poolInfo: { poolId: 'p' } }, 'MissingRequiredProperty', 'id'],
    ['bad id', job({ id: 'no spaces' }), 'InvalidPropertyValue', 'id'],
    ['id too long', job({ id: 'x'.repeat(65) }), 'InvalidPropertyValue', 'id'],
    ['missing poolInfo', { id: 'j' }, 'MissingRequiredProperty', 'poolInfo'],
    ['missing poolId', job({ poolInfo: {} }), 'MissingRequiredProperty', 'poolInfo.poolId'],
    ['priority too high', job({ priority: 1001 }), 'InvalidPropertyValue', 'priority'],
    ['priority not integer', job({ priority: 1.5 }), 'InvalidPropertyValue', 'priority'],
    ['priority as string', job({ priority: '5' }), 'InvalidPropertyValue', 'priority'],
    ['retry count below -1', job({ constraints: { maxTaskRetryCount: -2 } }), 'InvalidPropertyValue', 'constraints.maxTaskRetryCount'],
    ['bad duration', job({ constraints: { maxWallClockTime: '1 hour' } }), 'InvalidPropertyValue', 'constraints.maxWallClockTime'],
    ['unknown enum', job({ onAllTasksComplete: 'explode' }), 'InvalidPropertyValue', 'onAllTasksComplete'],
    ['maxParallelTasks 0', job({ maxParallelTasks: 0 }), 'InvalidPropertyValue', 'maxParallelTasks'],
    ['maxParallelTasks -2', job({ maxParallelTasks: -2 }), 'InvalidPropertyValue', 'maxParallelTasks'],
    ['usesTaskDependencies not boolean', job({ usesTaskDependencies: 'yes' }), 'InvalidPropertyValue', 'usesTaskDependencies'],
    ['duplicate env names', job({ commonEnvironmentSettings: [{ name: 'A', value: '1' }, { name: 'A', value: '2' }] }), 'InvalidPropertyValue', 'commonEnvironmentSettings[1].name'],
    ['metadata without value', job({ metadata: [{ name: 'a' }] }), 'MissingRequiredProperty', 'metadata[0].value'],
    ['tasks not an array', job({ tasks: {} }), 'InvalidPropertyValue', 'tasks'],
  ])('rejects %s', (_name, body, code, propertyName) => {
    const error = caught(() => validateJobSubmission(body));
    expect(error.code).toBe(code);
    expect(error.status).toBe(400);
    expect(error.valueFor('PropertyName')).toBe(propertyName);
  });

  it('checks the pool against known pools when told them', () => {
    expect(validateJobSubmission(job({ poolInfo: { poolId: 'POOL-1' } }), { knownPoolIds: ['pool-1'] }).job.poolInfo.poolId).toBe('POOL-1');
    const error = caught(() => validateJobSubmission(job(), { knownPoolIds: ['other'] }));
    expect(error.code).toBe('PoolNotFound');
    expect(error.status).toBe(404);
  });

  it('validates the whole DAG of the tasks extension', () => {
    const { tasks } = validateJobSubmission(
      job({
        usesTaskDependencies: true,
        constraints: { maxTaskRetryCount: 3 },
        tasks: [task('a'), task('b', { dependsOn: { taskIds: ['A'] } }), task('c', { dependsOn: { taskIds: ['a', 'b'] }, requiredSlots: 2 })],
      }),
    );
    expect(tasks.map((t) => t.id)).toEqual(['a', 'b', 'c']);
    expect(tasks[0]!.constraints).toEqual({ maxWallClockTime: UNLIMITED_DURATION_ISO, maxTaskRetryCount: 3, retentionTime: 'P7D' });
    expect(tasks[2]!.requiredSlots).toBe(2);
    expect(tasks[1]!.dependsOn).toEqual({ taskIds: ['A'], taskIdRanges: [] });
  });

  it('names the precise property path of a bad task', () => {
    const error = caught(() =>
      validateJobSubmission(job({ usesTaskDependencies: true, tasks: [task('a'), task('b'), task('c'), task('d', { dependsOn: { taskIds: ['nope'] } })] })),
    );
    expect(error.code).toBe('TaskDependencyNotFound');
    expect(error.valueFor('PropertyName')).toBe('tasks[3].dependsOn.taskIds[0]');
  });

  it('rejects dependsOn when the job does not use task dependencies', () => {
    const error = caught(() => validateJobSubmission(job({ tasks: [task('a'), task('b', { dependsOn: { taskIds: ['a'] } })] })));
    expect(error.code).toBe('TaskDependenciesNotSpecifiedOnJob');
    expect(error.valueFor('PropertyName')).toBe('tasks[1].dependsOn');
  });

  it('rejects case-insensitive duplicate task ids', () => {
    const error = caught(() => validateJobSubmission(job({ tasks: [task('Alpha'), task('alpha')] })));
    expect(error.code).toBe('TaskExists');
    expect(error.valueFor('PropertyName')).toBe('tasks[1].id');
  });

  it('rejects cycles, naming the tasks on one in order', () => {
    const error = caught(() =>
      validateJobSubmission(
        job({
          usesTaskDependencies: true,
          tasks: [task('a', { dependsOn: { taskIds: ['c'] } }), task('b', { dependsOn: { taskIds: ['a'] } }), task('c', { dependsOn: { taskIds: ['b'] } }), task('d')],
        }),
      ),
    );
    expect(error.code).toBe('TaskDependencyCycle');
    expect(error.valueFor('Cycle')).toBe('a -> c -> b -> a');
    expect(error.body.message.value).toContain('a -> c -> b -> a');
  });

  it('detects a cycle through a task id range and a self-dependency', () => {
    const viaRange = caught(() =>
      validateJobSubmission(job({ usesTaskDependencies: true, tasks: [task('1', { dependsOn: { taskIds: ['x'] } }), task('x', { dependsOn: { taskIdRanges: [{ start: 1, end: 3 }] } })] })),
    );
    expect(viaRange.code).toBe('TaskDependencyCycle');
    const self = caught(() => validateJobSubmission(job({ usesTaskDependencies: true, tasks: [task('s', { dependsOn: { taskIds: ['S'] } })] })));
    expect(self.valueFor('Cycle')).toBe('s -> s');
  });

  it('reports the task that is wrong, not a dependent that fails because of it', () => {
    const error = caught(() =>
      validateJobSubmission(job({ usesTaskDependencies: true, tasks: [task('a', { dependsOn: { taskIds: ['b'] } }), { id: 'b' }] })),
    );
    expect(error.code).toBe('MissingRequiredProperty');
    expect(error.valueFor('PropertyName')).toBe('tasks[1].commandLine');
  });
});

describe('validateTask', () => {
  it('validates every task property', () => {
    const spec = validateTask(
      {
        id: 't1',
        displayName: 'first',
        commandLine: '/bin/true',
        environmentSettings: [{ name: 'X', value: 'y' }],
        dependsOn: { taskIds: ['t0'], taskIdRanges: [{ start: 1, end: 5 }] },
        constraints: { maxWallClockTime: 'PT10M', maxTaskRetryCount: 1, retentionTime: 'P1D' },
        exitConditions: {
          exitCodes: [{ code: 3, exitOptions: { dependencyAction: 'satisfy' } }],
          exitCodeRanges: [{ start: 10, end: 20, exitOptions: { dependencyAction: 'Block' } }],
          default: { dependencyAction: 'block' },
        },
        requiredSlots: 1,
      },
      depJob,
    );
    expect(spec.constraints).toEqual({ maxWallClockTime: 'PT10M', maxTaskRetryCount: 1, retentionTime: 'P1D' });
    expect(spec.exitConditions?.exitCodeRanges[0]).toEqual({ start: 10, end: 20, exitOptions: { dependencyAction: 'block' } });
  });

  it.each([
    ['missing commandLine', { id: 't' }, depJob, 'MissingRequiredProperty', 'commandLine'],
    ['blank commandLine', task('t', { commandLine: '   ' }), depJob, 'InvalidPropertyValue', 'commandLine'],
    ['requiredSlots 0', task('t', { requiredSlots: 0 }), depJob, 'InvalidPropertyValue', 'requiredSlots'],
    ['retry count -2', task('t', { constraints: { maxTaskRetryCount: -2 } }), depJob, 'InvalidPropertyValue', 'constraints.maxTaskRetryCount'],
    ['bad retention', task('t', { constraints: { retentionTime: 'P1Y' } }), depJob, 'InvalidPropertyValue', 'constraints.retentionTime'],
    ['duplicate env', task('t', { environmentSettings: [{ name: 'A' }, { name: 'A' }] }), depJob, 'InvalidPropertyValue', 'environmentSettings[1].name'],
    ['env without name', task('t', { environmentSettings: [{ value: 'v' }] }), depJob, 'MissingRequiredProperty', 'environmentSettings[0].name'],
    ['bad dependency id', task('t', { dependsOn: { taskIds: ['ok', 'not ok'] } }), depJob, 'InvalidPropertyValue', 'dependsOn.taskIds[1]'],
    ['range start > end', task('t', { dependsOn: { taskIdRanges: [{ start: 5, end: 1 }] } }), depJob, 'InvalidPropertyValue', 'dependsOn.taskIdRanges[0]'],
    ['range without end', task('t', { dependsOn: { taskIdRanges: [{ start: 5 }] } }), depJob, 'MissingRequiredProperty', 'dependsOn.taskIdRanges[0].end'],
    ['exit code range start > end', task('t', { exitConditions: { exitCodeRanges: [{ start: 9, end: 1, exitOptions: {} }] } }), depJob, 'InvalidPropertyValue', 'exitConditions.exitCodeRanges[0]'],
    ['exit code without options', task('t', { exitConditions: { exitCodes: [{ code: 1 }] } }), depJob, 'MissingRequiredProperty', 'exitConditions.exitCodes[0].exitOptions'],
    ['unknown dependencyAction', task('t', { exitConditions: { default: { dependencyAction: 'ignore' } } }), depJob, 'InvalidPropertyValue', 'exitConditions.default.dependencyAction'],
    ['jobAction when job ignores it', task('t', { exitConditions: { default: { jobAction: 'terminate' } } }), depJob, 'InvalidPropertyValue', 'exitConditions.default.jobAction'],
    ['dependencyAction without task dependencies', task('t', { exitConditions: { default: { dependencyAction: 'block' } } }), plainJob, 'InvalidPropertyValue', 'exitConditions.default.dependencyAction'],
    ['dependsOn without task dependencies', task('t', { dependsOn: { taskIds: [] } }), plainJob, 'TaskDependenciesNotSpecifiedOnJob', 'dependsOn'],
  ])('rejects %s', (_name, body, forJob, code, propertyName) => {
    const error = caught(() => validateTask(body, forJob));
    expect(error.code).toBe(code);
    expect(error.status).toBe(400);
    expect(error.valueFor('PropertyName')).toBe(propertyName);
  });

  it('accepts jobAction when the job performs exit option job actions', () => {
    const spec = validateTask(task('t', { exitConditions: { default: { jobAction: 'Terminate' } } }), { ...depJob, onTaskFailure: 'performexitoptionsjobaction' });
    expect(spec.exitConditions?.default).toEqual({ jobAction: 'terminate' });
  });

  it('rejects a dependency list longer than 64000 characters', () => {
    const ids = Array.from({ length: 1001 }, (_, i) => `${'x'.repeat(60)}${String(i).padStart(4, '0')}`);
    expect(caught(() => validateTask(task('t', { dependsOn: { taskIds: ids } }), depJob)).code).toBe('TaskDependencyListTooLong');
  });

  it('checks existence against existing tasks when given them', () => {
    const existing = new CaseInsensitiveIdSet(['T0', 'dup']);
    expect(validateTask(task('t', { dependsOn: { taskIds: ['t0'] } }), depJob, existing).id).toBe('t');
    const exists = caught(() => validateTask(task('DUP'), depJob, existing));
    expect(exists.code).toBe('TaskExists');
    expect(exists.status).toBe(409);
    expect(caught(() => validateTask(task('t', { dependsOn: { taskIds: ['t9'] } }), depJob, existing)).code).toBe('TaskDependencyNotFound');
  });
});

describe('validateTaskCollection', () => {
  const existing = new CaseInsensitiveIdSet(['old']);

  it('accepts tasks that depend on existing tasks and on each other', () => {
    const tasks = validateTaskCollection(
      { value: [task('b', { dependsOn: { taskIds: ['a', 'OLD'] } }), task('a')] },
      depJob,
      existing,
      200,
    );
    expect(tasks.map((t) => t.id)).toEqual(['b', 'a']);
  });

  it('rejects more than 100 tasks or more than 1 MB with RequestBodyTooLarge (413)', () => {
    const many = { value: Array.from({ length: 101 }, (_, i) => task(`t${i}`)) };
    const tooMany = caught(() => validateTaskCollection(many, depJob, existing, 5000));
    expect(tooMany.code).toBe('RequestBodyTooLarge');
    expect(tooMany.status).toBe(413);
    const tooBig = caught(() => validateTaskCollection({ value: [task('a')] }, depJob, existing, 1024 * 1024 + 1));
    expect(tooBig.status).toBe(413);
    expect(validateTaskCollection({ value: Array.from({ length: 100 }, (_, i) => task(`t${i}`)) }, depJob, existing, 1024 * 1024)).toHaveLength(100);
  });

  it('requires a value array', () => {
    expect(caught(() => validateTaskCollection({}, depJob, existing, 2)).code).toBe('MissingRequiredProperty');
    expect(caught(() => validateTaskCollection('x', depJob, existing, 3)).code).toBe('InvalidRequestBody');
  });

  it('is all-or-nothing', () => {
    const error = caught(() => validateTaskCollection({ value: [task('a'), task('old')] }, depJob, existing, 100));
    expect(error.code).toBe('TaskExists');
    expect(error.valueFor('PropertyName')).toBe('value[1].id');
  });
});

describe('validateTaskCollectionPerTask', () => {
  const existing = new CaseInsensitiveIdSet(['old']);

  it('fails bad tasks alone and spreads rejection to same-request dependents', () => {
    const { results, accepted } = validateTaskCollectionPerTask(
      {
        value: [
          task('good', { dependsOn: { taskIds: ['old'] } }),
          { id: 'broken' },
          task('child', { dependsOn: { taskIds: ['broken'] } }),
          task('grandchild', { dependsOn: { taskIds: ['child'] } }),
          task('OLD'),
          task('ranged', { dependsOn: { taskIdRanges: [{ start: 1, end: 9 }] } }),
          task('5', { requiredSlots: 0 }),
          task('cyc1', { dependsOn: { taskIds: ['cyc2'] } }),
          task('cyc2', { dependsOn: { taskIds: ['cyc1'] } }),
          task('afterCycle', { dependsOn: { taskIds: ['cyc2', 'good'] } }),
        ],
      },
      depJob,
      existing,
      1000,
    );
    expect(results.map((r) => [r.taskId, r.status, r.error?.code])).toEqual([
      ['good', 'success', undefined],
      ['broken', 'clienterror', 'MissingRequiredProperty'],
      ['child', 'clienterror', 'TaskDependencyNotFound'],
      ['grandchild', 'clienterror', 'TaskDependencyNotFound'],
      ['OLD', 'clienterror', 'TaskExists'],
      ['ranged', 'success', undefined],
      ['5', 'clienterror', 'InvalidPropertyValue'],
      ['cyc1', 'clienterror', 'TaskDependencyCycle'],
      ['cyc2', 'clienterror', 'TaskDependencyCycle'],
      ['afterCycle', 'clienterror', 'TaskDependencyNotFound'],
    ]);
    expect(results[2]!.error?.values).toContainEqual({ key: 'Reason', value: "task 'broken' was rejected in this request" });
    expect(results[1]!.error?.values).toContainEqual({ key: 'PropertyName', value: 'commandLine' });
    expect(accepted.map((t) => t.id)).toEqual(['good', 'ranged']);
  });

  it('still throws for whole-body problems', () => {
    const error = caught(() => validateTaskCollectionPerTask({ value: Array.from({ length: 101 }, (_, i) => task(`t${i}`)) }, depJob, existing, 10));
    expect(error.status).toBe(413);
  });
});

describe('validation never throws anything but a 4xx BatchError (property)', () => {
  const validJob = {
    id: 'job',
    poolInfo: { poolId: 'pool' },
    priority: 5,
    constraints: { maxWallClockTime: 'PT1H', maxTaskRetryCount: 1 },
    usesTaskDependencies: true,
    onAllTasksComplete: 'terminatejob',
    onTaskFailure: 'performexitoptionsjobaction',
    commonEnvironmentSettings: [{ name: 'A', value: 'b' }],
    maxParallelTasks: 2,
    metadata: [{ name: 'm', value: 'v' }],
    tasks: [
      task('1'),
      task('2', {
        dependsOn: { taskIds: ['1'], taskIdRanges: [{ start: 1, end: 1 }] },
        exitConditions: { exitCodes: [{ code: 1, exitOptions: { jobAction: 'none', dependencyAction: 'satisfy' } }], exitCodeRanges: [], default: {} },
        constraints: { maxWallClockTime: 'PT5M', maxTaskRetryCount: 0, retentionTime: 'P1D' },
        environmentSettings: [{ name: 'E', value: 'f' }],
        requiredSlots: 1,
      }),
    ],
  };

  type Json = unknown;
  const paths = (value: Json, prefix: (string | number)[] = []): (string | number)[][] => {
    const out: (string | number)[][] = [prefix];
    if (Array.isArray(value)) value.forEach((item, i) => out.push(...paths(item, [...prefix, i])));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
    return out;
  };
  const allPaths = paths(validJob).filter((p) => p.length > 0);

  const setAt = (root: Json, path: (string | number)[], value: Json): Json => {
    const copy = structuredClone(root) as Record<string | number, unknown>;
    let node = copy as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
    const last = path[path.length - 1]!;
    if (value === undefined) delete node[last];
    else node[last] = value;
    return copy;
  };

  const expectOnlyBatchErrors = (body: Json) => {
    try {
      validateJobSubmission(body, { knownPoolIds: ['pool'] });
    } catch (error) {
      expect(error).toBeInstanceOf(BatchError);
      const status = (error as BatchError).status;
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(500);
    }
  };

  it('accepts the unmutated body', () => {
    expect(validateJobSubmission(validJob, { knownPoolIds: ['pool'] }).tasks).toHaveLength(2);
  });

  it('random JSON', () => {
    fc.assert(fc.property(fc.jsonValue(), (body) => expectOnlyBatchErrors(body)), { numRuns: 500 });
    fc.assert(fc.property(fc.anything(), (body) => expectOnlyBatchErrors(body)), { numRuns: 500 });
  });

  it('mutated valid bodies', () => {
    const replacement = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.jsonValue({ maxDepth: 2 }),
      fc.integer({ min: -3000, max: 3000 }),
      fc.constantFrom('', 'PT', 'active', 'a b', '1', 'P1M', '-1', 'NONE', 'block'),
      fc.double(),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...allPaths), replacement), { minLength: 1, maxLength: 4 }), (mutations) => {
        let body: Json = validJob;
        for (const [path, value] of mutations) {
          try {
            body = setAt(body, path, value);
          } catch {
            // An earlier mutation removed the parent; skip this one.
          }
        }
        expectOnlyBatchErrors(body);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('validation in steps', () => {
  const submission = (n: number, extra: (i: number) => object = () => ({})) => ({
    id: 'big',
    poolInfo: { poolId: 'p' },
    usesTaskDependencies: true,
    tasks: Array.from({ length: n }, (_, i) => ({ id: `t${i}`, commandLine: 'true', ...(i > 0 ? { dependsOn: { taskIds: [`t${(i - 1) >> 1}`] } } : {}), ...extra(i) })),
  });

  it('pauses every VALIDATION_STEP tasks of its long phases and ends with what validation at once gives', () => {
    const body = submission(5 * VALIDATION_STEP);
    const { yields, value } = driveSteps(validateJobSubmissionInSteps(body));
    expect(yields).toBeGreaterThanOrEqual(10);
    expect(value).toEqual(validateJobSubmission(body));
    // Fewer tasks than a step run straight through: small jobs never wait on the clock.
    expect(driveSteps(validateJobSubmissionInSteps(submission(VALIDATION_STEP - 1))).yields).toBe(0);
  });

  it('raises the same error as validation at once, after the same checks', () => {
    // t0 depends on t2999, whose chain of dependencies leads back to t0.
    const body = submission(3 * VALIDATION_STEP, (i) => (i === 0 ? { dependsOn: { taskIds: ['t2999'] } } : {}));
    const atOnce = caught(() => validateJobSubmission(body));
    expect(atOnce).toMatchObject({ code: 'TaskDependencyCycle' });
    expect(caught(() => driveSteps(validateJobSubmissionInSteps(body)))).toEqual(atOnce);
  });
});
