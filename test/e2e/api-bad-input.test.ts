// Every request is validated before anything is stored; bad input gets a 4xx with Batch's error
// body, never a 5xx, and never harms a running job.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFnbatch, type FnbatchHost } from '../support/fnbatch-host.js';

let fnb: FnbatchHost;
const validJob = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  poolInfo: { poolId: 'api-pool' },
  usesTaskDependencies: true,
  tasks: [
    { id: '1', commandLine: '/bin/true' },
    { id: '2', commandLine: '/bin/true', dependsOn: { taskIds: ['1'] } },
  ],
  ...extra,
});

beforeAll(async () => {
  fnb = await startFnbatch();
  const pool = await fnb.call('POST', 'pools', { id: 'api-pool', vmSize: 'local', targetDedicatedNodes: 0, taskSlotsPerNode: 2 });
  expect(pool.status).toBe(201);
});
afterAll(async () => fnb?.stop());

function expectBatchError(res: { status: number; json: any }, status: number, code: string | RegExp) {
  expect(res.status, JSON.stringify(res.json)).toBe(status);
  expect(res.json.code).toMatch(code);
  expect(res.json.message).toMatchObject({ lang: 'en-US' });
  expect(typeof res.json.message.value).toBe('string');
}

async function expectNoJob(id: string) {
  expect((await fnb.call('GET', `jobs/${encodeURIComponent(id)}`)).status).toBe(404);
}

describe('job submission rejects bad input, storing nothing', () => {
  it('malformed JSON', async () => {
    expectBatchError(await fnb.call('POST', 'jobs', '{"id": "j1", '), 400, 'InvalidRequestBody');
    await expectNoJob('j1');
  });

  it('wrong types', async () => {
    const res = await fnb.call('POST', 'jobs', validJob('wrong-types', { priority: 'high' }));
    expectBatchError(res, 400, 'InvalidPropertyValue');
    expect(res.json.values).toContainEqual({ key: 'PropertyName', value: 'priority' });
    await expectNoJob('wrong-types');
  });

  it('ids that break Batch rules', async () => {
    expectBatchError(await fnb.call('POST', 'jobs', validJob('bad id!')), 400, 'InvalidPropertyValue');
    expectBatchError(await fnb.call('POST', 'jobs', validJob('x'.repeat(65))), 400, 'InvalidPropertyValue');
  });

  it('duplicate task ids, case-insensitively', async () => {
    const body = validJob('dup-tasks');
    body.tasks = [{ id: 'A', commandLine: '/bin/true' }, { id: 'a', commandLine: '/bin/true' }];
    expectBatchError(await fnb.call('POST', 'jobs', body), 409, 'TaskExists');
    await expectNoJob('dup-tasks');
  });

  it('a dependency on an unknown task', async () => {
    const body = validJob('unknown-dep');
    body.tasks[1] = { id: '2', commandLine: '/bin/true', dependsOn: { taskIds: ['nope'] } };
    expectBatchError(await fnb.call('POST', 'jobs', body), 400, 'TaskDependencyNotFound');
    await expectNoJob('unknown-dep');
  });

  it('a cycle, naming the tasks on it', async () => {
    const body = validJob('cycle');
    body.tasks = [
      { id: 'x', commandLine: '/bin/true', dependsOn: { taskIds: ['z'] } },
      { id: 'y', commandLine: '/bin/true', dependsOn: { taskIds: ['x'] } },
      { id: 'z', commandLine: '/bin/true', dependsOn: { taskIds: ['y'] } },
    ] as never;
    const res = await fnb.call('POST', 'jobs', body);
    expectBatchError(res, 400, 'TaskDependencyCycle');
    expect(res.json.message.value).toMatch(/x/);
    expect(res.json.message.value).toMatch(/y/);
    expect(res.json.message.value).toMatch(/z/);
    await expectNoJob('cycle');
  });

  it('dependsOn on a job without usesTaskDependencies', async () => {
    expectBatchError(await fnb.call('POST', 'jobs', validJob('no-deps-flag', { usesTaskDependencies: false })), 400, 'TaskDependenciesNotSpecifiedOnJob');
    await expectNoJob('no-deps-flag');
  });

  it('an unknown pool', async () => {
    expectBatchError(await fnb.call('POST', 'jobs', validJob('no-pool', { poolInfo: { poolId: 'missing' } })), 404, 'PoolNotFound');
    await expectNoJob('no-pool');
  });

  it('a task needing more slots than the pool has', async () => {
    const body = validJob('too-many-slots');
    body.tasks[0] = { id: '1', commandLine: '/bin/true', requiredSlots: 3 } as never;
    const res = await fnb.call('POST', 'jobs', body);
    expectBatchError(res, 400, 'InvalidPropertyValue');
    expect(res.json.values).toContainEqual({ key: 'PropertyName', value: 'tasks[0].requiredSlots' });
    await expectNoJob('too-many-slots');
  });

  it('a job id that is taken', async () => {
    expect((await fnb.call('POST', 'jobs', validJob('taken'))).status).toBe(201);
    expectBatchError(await fnb.call('POST', 'jobs', validJob('TAKEN')), 409, 'JobExists');
  });
});

describe('task collections', () => {
  it('refuses more than 100 tasks or 1 MB with RequestBodyTooLarge (413), storing nothing', async () => {
    expect((await fnb.call('POST', 'jobs', validJob('collections', { tasks: [] }))).status).toBe(201);
    const many = { value: Array.from({ length: 101 }, (_, i) => ({ id: `t${i}`, commandLine: '/bin/true' })) };
    expectBatchError(await fnb.call('POST', 'jobs/collections/addtaskcollection', many), 413, 'RequestBodyTooLarge');
    const huge = { value: [{ id: 'big', commandLine: `/bin/echo ${'x'.repeat(1024 * 1024)}` }] };
    expectBatchError(await fnb.call('POST', 'jobs/collections/addtaskcollection', huge), 413, 'RequestBodyTooLarge');
    const tasks = await fnb.call('GET', 'jobs/collections/tasks');
    expect(tasks.json.value).toEqual([]);
  });

  it('reports per-task results: good tasks added, bad ones refused alone', async () => {
    const res = await fnb.call('POST', 'jobs/collections/addtaskcollection', {
      value: [{ id: 'ok1', commandLine: '/bin/true' }, { id: 'bad!', commandLine: '/bin/true' }, { id: 'ok2', commandLine: '/bin/true' }],
    });
    expect(res.status).toBe(200);
    const statuses = Object.fromEntries(res.json.value.map((r: any) => [r.taskId, r.status]));
    expect(statuses).toEqual({ ok1: 'success', 'bad!': 'clienterror', ok2: 'success' });
    expect(res.json.value.find((r: any) => r.taskId === 'ok1').eTag).toBeTruthy();
  });
});

describe('updates and conditions', () => {
  it('PATCH with a stale If-Match gets 412 and changes nothing', async () => {
    expect((await fnb.call('POST', 'jobs', validJob('patchme', { tasks: [] }))).status).toBe(201);
    const before = await fnb.call('GET', 'jobs/patchme');
    const ok = await fnb.call('PATCH', 'jobs/patchme', { priority: 10 }, { 'if-match': before.headers.get('etag')! });
    expect(ok.status).toBe(200);
    const stale = await fnb.call('PATCH', 'jobs/patchme', { priority: 20 }, { 'if-match': before.headers.get('etag')! });
    expectBatchError(stale, 412, 'ConditionNotMet');
    expect((await fnb.call('GET', 'jobs/patchme')).json.priority).toBe(10);
  });

  it('PATCH with an onAllTasksComplete that is not a string gets 400 and changes nothing (found by the property below)', async () => {
    for (const bad of [{ toString: '' }, ['terminatejob'], 7, null]) {
      expectBatchError(await fnb.call('PATCH', 'jobs/patchme', { onAllTasksComplete: bad, priority: 30 }), 400, 'InvalidPropertyValue');
    }
    expect((await fnb.call('GET', 'jobs/patchme')).json).toMatchObject({ priority: 10, onAllTasksComplete: 'noaction' });
  });

  it('unknown jobs and tasks are 404 with Batch codes', async () => {
    expectBatchError(await fnb.call('GET', 'jobs/none-such'), 404, 'JobNotFound');
    expectBatchError(await fnb.call('GET', 'jobs/patchme/tasks/none-such'), 404, 'TaskNotFound');
    expectBatchError(await fnb.call('GET', 'jobs/patchme/tasks?$filter=state%20eq%20%27sleeping%27'), 400, 'InvalidQueryParameterValue');
  });
});

describe('agent reports: each item is checked and answered on its own', () => {
  const ref = { poolId: 'api-pool', nodeId: 'n1', jobId: 'none-such', taskId: 't1', dispatchId: '0.0.x' };

  it('a bad item gets its own 4xx while the others are answered', async () => {
    const res = await fnb.call('POST', 'agent/reports', {
      claims: [{ ...ref, taskId: undefined }, ref],
      completions: [{ ...ref, exitCode: 1.5, startTime: 'a', endTime: 'b' }],
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json.claims[0]).toMatchObject({ status: 400, error: { code: 'MissingRequiredProperty', message: { lang: 'en-US' } } });
    expect(res.json.claims[1]).toEqual({ ok: { granted: false, reason: 'UnknownTask' } });
    expect(res.json.completions[0]).toMatchObject({ status: 400, error: { code: 'InvalidPropertyValue' } });
  });

  it('times that are not dates, a release flag that is not a boolean and tasks claimed ahead without ids are 400s', async () => {
    const res = await fnb.call('POST', 'agent/reports', { claims: [], completions: [{ ...ref, exitCode: 0, startTime: 'yesterday', endTime: new Date().toISOString() }] });
    expect(res.json.completions[0]).toMatchObject({ status: 400, error: { code: 'InvalidPropertyValue', values: expect.arrayContaining([{ key: 'PropertyName', value: 'startTime' }]) } });
    expectBatchError(await fnb.call('POST', 'agent/release', { ...ref, unstarted: 'yes' }), 400, 'InvalidPropertyValue');
    const beat = { poolId: 'api-pool', nodeId: 'n1', isDedicated: true, state: 'idle', bootTime: new Date().toISOString(), taskSlots: 1, runningTasks: [] };
    expectBatchError(await fnb.call('POST', 'agent/heartbeat', { ...beat, claimedAhead: [null] }), 400, 'InvalidPropertyValue');
    expectBatchError(await fnb.call('POST', 'agent/heartbeat', { ...beat, runningTasks: [{ taskId: 't1' }] }), 400, 'InvalidPropertyValue');
  });

  it('a work-signal request with a bad cursor or wait is a 400; a good one is answered with the count of sends', async () => {
    const wait = { poolId: 'no-work-yet', nodeId: 'n1', waitMs: 0 };
    for (const bad of [{ after: -1 }, { after: 1.5 }, { after: '0' }, { waitMs: 60_000 }, { waitMs: 'soon' }, { poolId: 7 }]) {
      expectBatchError(await fnb.call('POST', 'agent/worksignal', { ...wait, ...bad }), 400, 'InvalidPropertyValue');
    }
    expectBatchError(await fnb.call('POST', 'agent/worksignal', { nodeId: 'n1', waitMs: 0 }), 400, 'MissingRequiredProperty');
    const res = await fnb.call('POST', 'agent/worksignal', wait);
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({ count: 0 });
  });

  it('a notice of work given back without its pool is a 400; a good one moves the count a held work-signal request waits on', async () => {
    expectBatchError(await fnb.call('POST', 'agent/workreturned', { nodeId: 'n1' }), 400, 'MissingRequiredProperty');
    expectBatchError(await fnb.call('POST', 'agent/workreturned', { poolId: 7, nodeId: 'n1' }), 400, 'InvalidPropertyValue');
    const wait = { poolId: 'given-back', nodeId: 'n2', waitMs: 0 };
    const before = (await fnb.call('POST', 'agent/worksignal', wait)).json.count as number;
    const held = fnb.call('POST', 'agent/worksignal', { ...wait, after: before, waitMs: 15_000 });
    const notice = await fnb.call('POST', 'agent/workreturned', { poolId: 'given-back', nodeId: 'n1' });
    expect(notice.status, notice.text).toBe(204);
    expect((await held).json).toEqual({ count: before + 1 });
  });

  it('a malformed call is refused as a whole', async () => {
    expectBatchError(await fnb.call('POST', 'agent/reports', { claims: 'all of them' }), 400, 'InvalidPropertyValue');
    expectBatchError(await fnb.call('POST', 'agent/reports', [ref]), 400, 'InvalidPropertyValue');
    expectBatchError(await fnb.call('POST', 'agent/reports', { claims: Array.from({ length: 101 }, () => ref) }), 400, 'InvalidPropertyValue');
  });

  it('property: random items never get a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 }), fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 }), async (claims, completions) => {
        const res = await fnb.call('POST', 'agent/reports', { claims, completions });
        expect(res.status, res.text).toBe(200);
        for (const item of [...res.json.claims, ...res.json.completions]) {
          if (!('ok' in item)) expect(item.status, JSON.stringify(item)).toBeLessThan(500);
        }
      }),
      { numRuns: 200 },
    );
  }, 120_000);
});

describe('property: random and mutated requests never produce a 5xx', () => {
  const jsonValue = fc.jsonValue({ maxDepth: 4 });
  const mutatedJob = fc
    .record({
      path: fc.constantFrom('id', 'poolInfo', 'priority', 'constraints', 'tasks', 'usesTaskDependencies', 'maxParallelTasks', 'onAllTasksComplete', 'metadata'),
      value: jsonValue,
      id: fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/),
    })
    .map(({ path, value, id }) => ({ ...validJob(`prop-${id}`), [path]: value }));
  const targets = ['jobs', 'jobs/prop-target/addtaskcollection', 'jobs/prop-target/tasks', 'pools', 'jobs/prop-target', 'agent/claim', 'agent/complete', 'agent/reports', 'agent/heartbeat', 'agent/worksignal', 'agent/workreturned'];

  it('holds for thousands of requests, and a running job is unharmed', async () => {
    expect((await fnb.call('POST', 'jobs', validJob('prop-target', { tasks: [] }))).status).toBe(201);
    const before = (await fnb.call('GET', 'jobs/prop-target')).json;
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(mutatedJob, jsonValue, fc.string().map((s) => ({ raw: s }))),
        fc.constantFrom(...targets),
        fc.constantFrom('POST', 'PATCH', 'GET', 'DELETE'),
        async (payload, target, method) => {
          sent++;
          const body = method === 'GET' || method === 'DELETE' ? undefined : (payload as any)?.raw ?? payload;
          const safeTarget = method === 'DELETE' ? 'jobs/prop-nonexistent' : target;
          const res = await fnb.call(method, safeTarget, body);
          expect(res.status, `${method} ${safeTarget} ${JSON.stringify(body)?.slice(0, 200)} -> ${res.text.slice(0, 300)}`).toBeLessThan(500);
          if (res.status >= 400 && res.status !== 404 && res.status !== 405 && res.text) {
            expect(res.json?.message?.lang, res.text).toBe('en-US');
          }
        },
      ),
      { numRuns: 1500 },
    );
    expect(sent).toBeGreaterThanOrEqual(1500);
    const after = (await fnb.call('GET', 'jobs/prop-target')).json;
    expect(after.state).toBe(before.state);
  }, 300_000);
});
