// The client commands against the real app on a local host (in memory): every example is accepted
// by the service's validation, bad files get the service's 4xx message and exit 1, lists follow
// paging. The pool has no nodes, so submitted tasks stay active and nothing runs.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHost } from '../../local-host/host.js';
import { cli, example, repoRoot, runFnbatch, startFnbatchHost } from './support.js';

const EXAMPLES = ['demo-job.json', 'diamond.json', 'failing-satisfy.json', 'failing-block.json', 'dag-1000.json'];
let host: RunningHost;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fnbatch-cli-submit-'));

beforeAll(async () => {
  host = await startFnbatchHost();
});
afterAll(async () => {
  await host?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('pools', () => {
  it('creates a pool from flags and shows it', async () => {
    const created = await cli(host, 'pool', 'create', '--id', 'demo', '--vm-size', 'local', '--nodes', '0', '--slots', '4', '--fill', 'pack');
    expect(created).toMatchObject({ code: 0, err: '' });
    expect(created.out).toContain('Pool demo created');

    const shown = await cli(host, 'pool', 'show', 'demo');
    expect(shown.out).toMatch(/task slots per node:\s+4/);
    expect(shown.out).toMatch(/node fill type:\s+pack/);
    const json = JSON.parse((await cli(host, 'pool', 'show', 'demo', '--json')).out);
    expect(json).toMatchObject({ id: 'demo', vmSize: 'local', targetDedicatedNodes: 0, taskSlotsPerNode: 4, taskSchedulingPolicy: { nodeFillType: 'pack' } });
    expect((await cli(host, 'pool', 'list')).out).toMatch(/^demo\s+active\s+\w+\s+local\s+0\/0\s+0\/0\s+4$/m);
    expect((await cli(host, 'pool', 'nodes', 'demo')).out).toBe('Pool demo has no nodes.\n');
  });

  it('creates a pool from a file, resizes it, and reports conflicts the service finds', async () => {
    const file = path.join(tmp, 'pool.yaml');
    writeFileSync(file, 'id: filed\nvmSize: local\ntargetDedicatedNodes: 0\nstartTask:\n  commandLine: /bin/true\n');
    expect((await cli(host, 'pool', 'create', file)).code).toBe(0);
    expect((await cli(host, 'pool', 'show', 'filed')).out).toMatch(/start task:\s+\/bin\/true/);

    const again = await cli(host, 'pool', 'create', file);
    expect(again.code).toBe(1);
    expect(again.err).toContain('PoolExists: The specified pool already exists.');
    expect(again.err).toContain('PoolId: filed');

    expect((await cli(host, 'pool', 'resize', 'filed', '--nodes', '0', '--low-priority', '0', '--deallocation', 'taskcompletion')).code).toBe(0);
    const missing = await cli(host, 'pool', 'resize', 'nope', '--nodes', '1');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('PoolNotFound');
  });
});

describe('job submit', () => {
  it.each(EXAMPLES)('the service accepts examples/%s', async (name) => {
    const body = JSON.parse(readFileSync(example(name), 'utf8')) as { id: string; tasks: unknown[] };
    const result = await cli(host, 'job', 'submit', example(name));
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(result.out).toBe(`Job ${body.id} submitted with ${body.tasks.length} task${body.tasks.length === 1 ? '' : 's'}.\n`);
    const shown = await cli(host, 'job', 'show', body.id, '--json');
    expect(JSON.parse(shown.out)).toMatchObject({ id: body.id, state: 'active', taskCounts: { active: body.tasks.length } });
  });

  it('says a large job is on its way before it is sent', async () => {
    const file = path.join(tmp, 'large.json');
    const tasks = Array.from({ length: 16_000 }, (_, i) => ({ id: `task-${i}`, commandLine: `/bin/sh -c "echo task number ${i}"` }));
    writeFileSync(file, JSON.stringify({ id: 'large', poolInfo: { poolId: 'demo' }, tasks }));
    const result = await cli(host, 'job', 'submit', file);
    expect(result.code).toBe(0);
    expect(result.err).toMatch(/^Submitting job large: 16000 tasks, 1\.\d MB\.\.\.\n$/);
    expect(result.out).toBe('Job large submitted with 16000 tasks.\n');
  });

  it('submits YAML, with --id and --pool overriding the file', async () => {
    const file = path.join(tmp, 'job.yaml');
    writeFileSync(file, 'id: ignored\npoolInfo: {poolId: elsewhere}\ntasks:\n  - id: only\n    commandLine: /bin/true\n');
    const result = await cli(host, 'job', 'submit', file, '--id', 'from-yaml', '--pool', 'demo', '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.out)).toMatchObject({ id: 'from-yaml', poolInfo: { poolId: 'demo' } });
    expect((await cli(host, 'job', 'list')).out).toMatch(/^from-yaml\s+active\s+demo\s+0\s+/m);
  });

  it("a file the service rejects gives its 4xx message and exit 1 (as the real command)", async () => {
    const file = path.join(tmp, 'cycle.json');
    writeFileSync(
      file,
      JSON.stringify({
        id: 'cyclic',
        poolInfo: { poolId: 'demo' },
        usesTaskDependencies: true,
        tasks: [
          { id: 'a', commandLine: '/bin/true', dependsOn: { taskIds: ['b'] } },
          { id: 'b', commandLine: '/bin/true', dependsOn: { taskIds: ['a'] } },
        ],
      }),
    );
    const env = { FNBATCH_ENDPOINT: host.baseUrl, FNBATCH_KEY: host.keys.functionKey };
    const result = await runFnbatch(['job', 'submit', file], env);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^fnbatch: TaskDependencyCycle: /);
    expect(result.out).toBe('');

    writeFileSync(file, JSON.stringify({ id: 'no-command', poolInfo: { poolId: 'demo' }, tasks: [{ id: 'a' }] }));
    const missing = await cli(host, 'job', 'submit', file);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('MissingRequiredProperty');
    expect(missing.err).toContain('tasks[0].commandLine');

    const duplicate = await cli(host, 'job', 'submit', example('diamond.json'));
    expect(duplicate.code).toBe(1);
    expect(duplicate.err).toContain('JobExists');
  });

  it('a wrong key is refused without printing any key', async () => {
    const result = await runFnbatch(['job', 'list'], { FNBATCH_ENDPOINT: host.baseUrl, FNBATCH_KEY: 'wrong-key-wrong-key' });
    expect(result.code).toBe(1);
    expect(result.err).toContain('Unauthorized');
    expect(result.err).not.toContain('wrong-key-wrong-key');
    expect(result.err + result.out).not.toContain(host.keys.functionKey);
  });
});

describe('tasks and jobs after submission', () => {
  it('lists every task of a 1,000-task job across pages, filtered by state', async () => {
    const result = await cli(host, 'task', 'list', 'dag-1000', '--state', 'active', '--page-size', '70', '--json');
    expect(result.code).toBe(0);
    const ids = (JSON.parse(result.out) as { value: { id: string }[] }).value.map((t) => t.id);
    expect(new Set(ids).size).toBe(1000);
    expect((await cli(host, 'task', 'list', 'dag-1000', '--state', 'completed')).out).toBe('No tasks.\n');
    const table = (await cli(host, 'task', 'list', 'diamond')).out.split('\n');
    expect(table[0]).toMatch(/^ID\s+STATE\s+RESULT\s+EXIT CODE\s+NODE\s+FAILURE$/);
    expect(table.slice(1).filter(Boolean).map((l) => l.split(/\s+/)[0]).sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('task output of a task that has not run is the service\'s FileNotFound', async () => {
    const result = await cli(host, 'task', 'output', 'diamond', 'a');
    expect(result.code).toBe(1);
    expect(result.err).toContain('FileNotFound');
    const unknown = await cli(host, 'task', 'output', 'diamond', 'zz');
    expect(unknown.err).toContain('TaskNotFound');
  });

  it('terminates a job', async () => {
    const result = await cli(host, 'job', 'terminate', 'failing-block', '--reason', 'NotNeeded');
    expect(result).toMatchObject({ code: 0, out: 'Job failing-block is terminating.\n' });
    const job = JSON.parse((await cli(host, 'job', 'show', 'failing-block', '--json')).out);
    expect(['terminating', 'completed']).toContain(job.state);
    expect(job.executionInfo.terminateReason).toBe('NotNeeded');
    const again = await cli(host, 'job', 'terminate', 'failing-block');
    expect(again.code).toBe(1);
  });
});

describe('examples/dag-1000.json', () => {
  it('is what examples/generate-dag.mjs produces', async () => {
    const out = path.join(tmp, 'dag.json');
    const result = await runFnbatchScript(['examples/generate-dag.mjs', '--out', out]);
    expect(result).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(example('dag-1000.json'), 'utf8'));
    const body = JSON.parse(readFileSync(out, 'utf8')) as { tasks: { id: string; dependsOn?: unknown }[] };
    expect(body.tasks).toHaveLength(1000);
    expect(body.tasks.filter((t) => t.dependsOn).length).toBeGreaterThan(900);
  });
});

function runFnbatchScript(argv: string[]): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { cwd: repoRoot, stdio: 'ignore' });
    child.once('close', (code) => resolve(code));
  });
}
