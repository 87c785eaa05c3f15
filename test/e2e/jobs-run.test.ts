// End to end on the local host: the fnbatch app, a local pool of real agent processes, and real
// shell commands. Dependency order is checked from the tasks' own executionInfo times.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFnbatch, waitUntil, type FnbatchHost } from '../support/fnbatch-host.js';

let fnb: FnbatchHost;
let scratch: string;
const POOL = 'e2e';
const NODES = 2;
const SLOTS = 4;

beforeAll(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'fnbatch-e2e-'));
  fnb = await startFnbatch();
  expect((await fnb.call('POST', 'pools', { id: POOL, vmSize: 'local', targetDedicatedNodes: NODES, taskSlotsPerNode: SLOTS })).status).toBe(201);
  await waitUntil(async () => {
    const nodes = (await fnb.call('GET', `pools/${POOL}/nodes`)).json.value as { state: string }[];
    return nodes.filter((n) => n.state === 'idle').length === NODES;
  }, 'the pool nodes to be idle');
}, 120_000);

afterAll(async () => {
  await fnb?.stop().catch(() => {});
  rmSync(scratch, { recursive: true, force: true });
});

type Task = { id: string; state: string; executionInfo: any; nodeInfo?: { nodeId: string }; dependsOn?: { taskIds?: string[]; taskIdRanges?: { start: number; end: number }[] } };

async function submit(job: Record<string, unknown>) {
  const res = await fnb.call('POST', 'jobs', { poolInfo: { poolId: POOL }, usesTaskDependencies: true, onAllTasksComplete: 'terminatejob', ...job });
  expect(res.status, res.text).toBe(201);
}

async function allTasks(jobId: string): Promise<Task[]> {
  const tasks: Task[] = [];
  let url = `jobs/${jobId}/tasks`;
  for (;;) {
    const page = await fnb.call('GET', url);
    tasks.push(...page.json.value);
    const next = page.json['odata.nextLink'] as string | undefined;
    if (!next) return tasks;
    url = next.slice(next.indexOf('/api/') + 5);
  }
}

async function waitForJob(jobId: string, timeoutMs = 120_000) {
  return waitUntil(async () => {
    const job = (await fnb.call('GET', `jobs/${jobId}`)).json;
    return job.state === 'completed' ? job : undefined;
  }, `job ${jobId} to complete`, timeoutMs, 100);
}

function byId(tasks: Task[]): Map<string, Task> {
  return new Map(tasks.map((t) => [t.id, t]));
}

/** Every task that ran started only after each of its dependencies had ended. */
function expectDependencyOrder(tasks: Task[]) {
  const index = byId(tasks);
  const numeric = tasks.filter((t) => /^\d+$/.test(t.id));
  for (const task of tasks) {
    if (!task.executionInfo.startTime) continue;
    const deps = [
      ...(task.dependsOn?.taskIds ?? []),
      ...(task.dependsOn?.taskIdRanges ?? []).flatMap((r) => numeric.filter((t) => Number(t.id) >= r.start && Number(t.id) <= r.end).map((t) => t.id)),
    ];
    for (const dep of deps) {
      const upstream = index.get(dep)!;
      expect(Date.parse(task.executionInfo.startTime), `${task.id} started before ${dep} ended`).toBeGreaterThanOrEqual(Date.parse(upstream.executionInfo.endTime));
    }
  }
}

/** The largest number of tasks whose [start, end] intervals overlap. */
function maxOverlap(tasks: Task[]): number {
  const points = tasks
    .filter((t) => t.executionInfo.startTime && t.executionInfo.endTime)
    .flatMap((t) => [
      [Date.parse(t.executionInfo.startTime), 1],
      [Date.parse(t.executionInfo.endTime), -1],
    ])
    .sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let current = 0;
  let best = 0;
  for (const [, delta] of points) best = Math.max(best, (current += delta!));
  return best;
}

describe('DAGs run in dependency order with the pool\'s parallelism', () => {
  it('runs a diamond, with satisfy letting a failure through and block failing dependents upstream', async () => {
    await submit({
      id: 'diamond',
      tasks: [
        { id: 'a', commandLine: '/bin/sh -c "echo A"' },
        { id: 'b', commandLine: '/bin/sh -c "exit 4"', dependsOn: { taskIds: ['a'] }, exitConditions: { exitCodes: [{ code: 4, exitOptions: { dependencyAction: 'satisfy' } }] } },
        { id: 'c', commandLine: '/bin/sh -c "exit 3"', dependsOn: { taskIds: ['a'] } },
        { id: 'd', commandLine: '/bin/echo d', dependsOn: { taskIds: ['b'] } },
        { id: 'e', commandLine: '/bin/echo e', dependsOn: { taskIds: ['b', 'c'] } },
        { id: 'f', commandLine: '/bin/echo f', dependsOn: { taskIds: ['e'] } },
      ],
    });
    const job = await waitForJob('diamond');
    expect(job.executionInfo.terminateReason).toBe('AllTasksComplete');
    const tasks = byId(await allTasks('diamond'));
    expectDependencyOrder([...tasks.values()]);
    expect(tasks.get('b')!.executionInfo).toMatchObject({ result: 'failure', exitCode: 4 });
    expect(tasks.get('d')!.executionInfo).toMatchObject({ result: 'success', exitCode: 0 });
    expect(tasks.get('e')!.executionInfo.failureInfo).toMatchObject({ code: 'UpstreamTaskFailed' });
    expect(tasks.get('e')!.executionInfo.failureInfo.message).toContain("'c'");
    expect(tasks.get('f')!.executionInfo.failureInfo).toMatchObject({ code: 'UpstreamTaskFailed' });
    expect(tasks.get('f')!.executionInfo.startTime).toBeUndefined();
  });

  it('fans out over an id range and fans in, reaching the pool\'s slots', async () => {
    const fan = Array.from({ length: 16 }, (_, i) => ({ id: String(i + 1), commandLine: '/bin/sleep 0.4' }));
    await submit({
      id: 'fan',
      tasks: [
        { id: '0', commandLine: '/bin/true' },
        ...fan.map((t) => ({ ...t, dependsOn: { taskIds: ['0'] } })),
        { id: 'merge', commandLine: '/bin/true', dependsOn: { taskIdRanges: [{ start: 1, end: 16 }] } },
      ],
    });
    await waitForJob('fan');
    const tasks = await allTasks('fan');
    expect(tasks.every((t) => t.executionInfo.result === 'success')).toBe(true);
    expectDependencyOrder(tasks);
    expect(maxOverlap(tasks.filter((t) => /^\d+$/.test(t.id) && t.id !== '0'))).toBe(NODES * SLOTS);
    const nodesUsed = new Set(tasks.map((t) => t.nodeInfo?.nodeId));
    expect(nodesUsed.size).toBe(NODES);
  });

  it('runs a long chain strictly in order', async () => {
    const chain = Array.from({ length: 15 }, (_, i) => ({
      id: `step${i}`,
      commandLine: '/bin/true',
      ...(i ? { dependsOn: { taskIds: [`step${i - 1}`] } } : {}),
    }));
    await submit({ id: 'chain', tasks: chain });
    await waitForJob('chain');
    const tasks = await allTasks('chain');
    expectDependencyOrder(tasks);
    expect(tasks.every((t) => t.executionInfo.result === 'success')).toBe(true);
  });

  it('runs a 1,000-task random DAG with every dependency respected', async () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const tasks = Array.from({ length: 1000 }, (_, i) => {
      const deps = new Set<string>();
      if (i > 0) for (let k = 0; k < 3; k++) if (random() < 0.6) deps.add(String(Math.floor(random() * i)));
      return { id: String(i), commandLine: '/bin/true', ...(deps.size ? { dependsOn: { taskIds: [...deps] } } : {}) };
    });
    await submit({ id: 'dag1000', tasks });
    await waitForJob('dag1000', 300_000);
    const done = await allTasks('dag1000');
    expect(done).toHaveLength(1000);
    expect(done.filter((t) => t.executionInfo.result !== 'success')).toEqual([]);
    expectDependencyOrder(done);
  }, 360_000);
});

describe('retries, limits, cancellation and late additions', () => {
  it('retries a failing task up to maxTaskRetryCount', async () => {
    const marker = path.join(scratch, 'retry-marker');
    await submit({
      id: 'retry',
      constraints: { maxTaskRetryCount: 2 },
      tasks: [
        { id: 'flaky', commandLine: `/bin/sh -c "test -f ${marker} || { touch ${marker}; exit 1; }"` },
        { id: 'hopeless', commandLine: '/bin/sh -c "exit 9"' },
      ],
    });
    await waitForJob('retry');
    const tasks = byId(await allTasks('retry'));
    expect(tasks.get('flaky')!.executionInfo).toMatchObject({ result: 'success', retryCount: 1 });
    expect(tasks.get('hopeless')!.executionInfo).toMatchObject({ result: 'failure', retryCount: 2, exitCode: 9 });
  });

  it('kills a task at its maxWallClockTime', async () => {
    await submit({ id: 'wallclock', tasks: [{ id: 'slow', commandLine: '/bin/sleep 30', constraints: { maxWallClockTime: 'PT1S' } }] });
    await waitForJob('wallclock', 30_000);
    const task = (await allTasks('wallclock'))[0]!;
    expect(task.executionInfo.failureInfo.code).toBe('MaxWallClockTimeExpiry');
    expect(Date.parse(task.executionInfo.endTime) - Date.parse(task.executionInfo.startTime)).toBeLessThan(10_000);
  });

  it('terminates a job at its maxWallClockTime', async () => {
    await submit({ id: 'job-wallclock', constraints: { maxWallClockTime: 'PT2S' }, tasks: [{ id: 'slow', commandLine: '/bin/sleep 30' }] });
    const job = await waitForJob('job-wallclock', 30_000);
    expect(job.executionInfo.terminateReason).toBe('MaxWallClockTimeExpiry');
    expect((await allTasks('job-wallclock'))[0]!.state).toBe('completed');
  });

  it('terminate stops every running task quickly and runs nothing new', async () => {
    await submit({
      id: 'cancel-me',
      tasks: [
        ...Array.from({ length: 6 }, (_, i) => ({ id: `long${i}`, commandLine: '/bin/sleep 60' })),
        { id: 'after', commandLine: '/bin/true', dependsOn: { taskIds: ['long0'] } },
      ],
    });
    await waitUntil(async () => (await allTasks('cancel-me')).filter((t) => t.state === 'running').length === 6, 'six running tasks');
    const started = Date.now();
    expect((await fnb.call('POST', 'jobs/cancel-me/terminate')).status).toBe(202);
    await waitUntil(async () => {
      const nodes = (await fnb.call('GET', `pools/${POOL}/nodes`)).json.value as { runningTasksCount: number }[];
      return nodes.every((n) => n.runningTasksCount === 0);
    }, 'the nodes to stop the tasks', 10_000, 20);
    const elapsed = Date.now() - started;
    const job = await waitForJob('cancel-me', 10_000);
    expect(job.executionInfo.terminateReason).toBe('UserTerminate');
    const tasks = byId(await allTasks('cancel-me'));
    expect(tasks.get('after')!.executionInfo.startTime).toBeUndefined();
    expect([...tasks.values()].every((t) => t.state === 'completed')).toBe(true);
    // The issue asks for 1 s locally; allow slack for a loaded CI machine, and print the figure.
    process.stdout.write(`terminate → all tasks stopped on the nodes in ${elapsed} ms\n`);
    expect(elapsed).toBeLessThan(3000);
  });

  it('runs tasks added to a job that is already running', async () => {
    await submit({ id: 'grow', onAllTasksComplete: 'noaction', tasks: [{ id: 'first', commandLine: '/bin/sleep 0.3' }] });
    const added = await fnb.call('POST', 'jobs/grow/addtaskcollection', {
      value: [
        { id: 'second', commandLine: '/bin/echo 2', dependsOn: { taskIds: ['first'] } },
        { id: 'third', commandLine: '/bin/echo 3' },
      ],
    });
    expect(added.status).toBe(200);
    expect((await fnb.call('POST', 'jobs/grow/tasks', { id: 'fourth', commandLine: '/bin/echo 4', dependsOn: { taskIds: ['second'] } })).status).toBe(201);
    await waitUntil(async () => (await allTasks('grow')).every((t) => t.state === 'completed') || undefined, 'all four tasks', 30_000);
    const tasks = await allTasks('grow');
    expect(tasks.map((t) => t.id).sort()).toEqual(['first', 'fourth', 'second', 'third']);
    expect(tasks.every((t) => t.executionInfo.result === 'success')).toBe(true);
    expectDependencyOrder(tasks);
    const output = await fetch(`${fnb.host.baseUrl}/api/jobs/grow/tasks/fourth/files/stdout.txt`, { headers: { 'x-functions-key': fnb.host.keys.functionKey } });
    expect(await output.text()).toBe('4\n');
    // With noaction the job stays active until told otherwise.
    expect((await fnb.call('GET', 'jobs/grow')).json.state).toBe('active');
    expect((await fnb.call('PATCH', 'jobs/grow', { onAllTasksComplete: 'terminatejob' })).status).toBe(200);
    expect((await waitForJob('grow')).executionInfo.terminateReason).toBe('AllTasksComplete');
  });

  it('counts tasks by state and result', async () => {
    const counts = (await fnb.call('GET', 'jobs/diamond/taskcounts')).json.taskCounts;
    expect(counts).toEqual({ active: 0, running: 0, completed: 6, succeeded: 2, failed: 4 });
  });
});

describe('shutdown', () => {
  it('stopping the host stops the local pool\'s agent processes', async () => {
    const agents = () =>
      execFileSync('ps', ['-e', '-o', 'ppid=,args='], { encoding: 'utf8' })
        .split('\n')
        .filter((line) => Number(line.trim().split(/\s+/)[0]) === process.pid && line.includes('fnbatch.js agent'));
    expect(agents()).toHaveLength(NODES);
    await fnb.stop();
    await waitUntil(async () => agents().length === 0, 'the agents to exit', 20_000);
  });
});
