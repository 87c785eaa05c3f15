// The CLI's pure parts: argument checking and usage errors (exit 2, nothing sent), where requests
// go and with which key, job files, and how tables, errors, progress and summaries look.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ServiceError, type Resource, type TaskCounts } from '../../cli/batch-client.js';
import { apiBaseOf, DEFAULT_ENDPOINT, resolveConnection } from '../../cli/connection.js';
import { fanInTasks } from '../../cli/demo-command.js';
import { bufferIO } from '../../cli/io.js';
import { readJobFile } from '../../cli/job-file.js';
import { runClientCommand, usage } from '../../cli/main.js';
import { errorText, failedTaskLine, formatElapsed, jobTable, poolTable, taskTable } from '../../cli/render.js';
import { renderTable } from '../../cli/table.js';
import { progressLine, summaryText } from '../../cli/watch.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'fnbatch-cli-units-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Port 9 (discard) on loopback: if a usage check ever let a request through, it would fail with
// "cannot reach" (exit 1), not exit 2.
const nowhere = { FNBATCH_ENDPOINT: 'http://127.0.0.1:9', FNBATCH_KEY: 'unused-key-0123456789' };

async function run(command: string, ...argv: string[]) {
  const io = bufferIO(nowhere, tmp);
  const code = await runClientCommand(command, argv, io);
  return { code, out: io.out(), err: io.err() };
}

describe('usage errors exit 2 with a message and the usage, before any request', () => {
  it.each([
    [['pool'], 'pool needs a subcommand'],
    [['pool', 'grow', 'x'], 'unknown pool subcommand "grow"'],
    [['pool', 'create', '--vm-size', 'S', '--nodes', '1'], '--id is required'],
    [['pool', 'create', '--id', 'p', '--vm-size', 'S'], '--nodes is required'],
    [['pool', 'create', '--id', 'p', '--vm-size', 'S', '--nodes', 'two'], '--nodes must be an integer from 0 to'],
    [['pool', 'create', '--id', 'p', '--vm-size', 'S', '--nodes', '1', '--slots', '0'], '--slots must be an integer from 1 to 256'],
    [['pool', 'create', 'pool.json', '--id', 'p'], '--id cannot be combined with a pool file'],
    [['pool', 'create', '--id', 'p', '--vm-size', 'S', '--nodes', '1', '--fill', 'tight'], '--fill must be one of spread, pack'],
    [['pool', 'create', '--id', 'p', '--vm-size', 'S', '--nodes', '1', '--colour', 'red'], 'unknown option --colour'],
    [['pool', 'show'], 'missing a pool id'],
    [['pool', 'show', 'a', 'b'], 'unexpected argument "b"'],
    [['pool', 'list', '--json=yes'], '--json takes no value'],
    [['pool', 'resize', 'p'], '--nodes or --low-priority is required'],
    [['pool', 'resize', 'p', '--nodes', '2', '--deallocation', 'never'], '--deallocation must be one of requeue, terminate, taskcompletion, retaineddata'],
    [['pool', 'nodes', '--endpoint'], '--endpoint needs a value'],
    [['job'], 'job needs a subcommand'],
    [['job', 'submit'], 'missing a job file'],
    [['job', 'submit', 'no-such-file.json'], 'cannot read no-such-file.json: ENOENT'],
    [['job', 'terminate', 'j', '--reason'], '--reason needs a value'],
    [['task', 'list'], 'missing a job id'],
    [['task', 'list', 'j', '--state', 'sleeping'], '--state must be one of active, preparing, running, completed'],
    [['task', 'list', 'j', '--page-size', '5000'], '--page-size must be an integer from 1 to 1000'],
    [['task', 'output', 'j'], 'missing a task id'],
    [['task', 'output', 'j', 't', '--json'], '--json does not apply'],
    [['job', 'list', '--endpoint', 'ftp://x'], 'must be an http(s) URL'],
    [['demo', 'now'], 'unexpected argument "now"'],
  ])('%j', async (argv, message) => {
    const [command, ...rest] = argv as string[];
    const result = await run(command!, ...rest);
    expect(result.err).toContain(message);
    expect(result.code).toBe(2);
    expect(result.out).toBe('');
  });

  it('an unknown command prints the full usage', async () => {
    const result = await run('frobnicate');
    expect(result.code).toBe(2);
    expect(result.err).toContain('unknown command "frobnicate"');
    for (const line of ['fnbatch pool create', 'fnbatch job submit', 'fnbatch task output', 'fnbatch demo', 'fnbatch host', 'fnbatch agent']) {
      expect(result.err).toContain(line);
      expect(await usage()).toContain(line);
    }
  });

  it('a request that cannot be sent is a service-side failure (exit 1), not a usage error', async () => {
    const result = await run('pool', 'list');
    expect(result.code).toBe(1);
    expect(result.err).toContain('cannot reach fnbatch at http://127.0.0.1:9');
    expect(result.err).not.toContain(nowhere.FNBATCH_KEY);
  });
});

describe('--help and -h print the usage of the command asked about (exit 0), before any request', () => {
  it.each([
    [['pool', '--help'], 'fnbatch pool create --id ID', 'Connection'],
    [['job', 'submit', 'no-such-file.json', '--help'], 'fnbatch job submit FILE.json|FILE.yaml', 'Connection'],
    [['job', 'terminate', 'j', '--reason', '-h'], 'fnbatch job terminate ID', 'Connection'],
    [['task', 'output', '-h'], 'fnbatch task output JOB TASK', 'Connection'],
    [['demo', '--help'], 'fnbatch demo [--keep]', 'Starts a local host'],
  ])('%j', async (argv, first, also) => {
    const [command, ...rest] = argv as string[];
    const result = await run(command!, ...rest);
    expect(result.code).toBe(0);
    expect(result.err).toBe('');
    expect(result.out).toContain(first);
    expect(result.out).toContain(also);
  });

  it('for the host and the agent, and for everything at the top level', () => {
    const bin = fileURLToPath(new URL('../../bin/fnbatch.js', import.meta.url));
    const cases: [string[], string][] = [
      [['host', '--help'], 'fnbatch host [--app DIR]'],
      [['agent', '-h'], 'fnbatch agent [--endpoint URL]'],
      [['-h'], 'fnbatch task output JOB TASK'],
      [['help', 'job'], 'fnbatch job submit'],
    ];
    for (const [argv, line] of cases) {
      const result = spawnSync(process.execPath, [bin, ...argv], { encoding: 'utf8', env: { ...process.env, ...nowhere } });
      expect(result.status, `fnbatch ${argv.join(' ')}: ${result.stderr}`).toBe(0);
      expect(result.stdout).toContain(line);
    }
  });
});

describe('where requests go and with which key', () => {
  const pkg = path.join(tmp, 'pkg');
  mkdirSync(path.join(pkg, '.fnbatch'), { recursive: true });
  writeFileSync(path.join(pkg, '.fnbatch', 'keys.json'), JSON.stringify({ functionKey: 'local-function-key-123', masterKey: 'local-master-key-1234' }));

  it('defaults to the local host with the key from its data folder', () => {
    expect(resolveConnection({ env: {}, packageRoot: pkg })).toEqual({ apiBase: `${DEFAULT_ENDPOINT}/api`, key: 'local-function-key-123' });
  });

  it('prefers flags, then FNBATCH_ENDPOINT/FNBATCH_KEY', () => {
    const env = { FNBATCH_ENDPOINT: 'https://fnbatch.example.net', FNBATCH_KEY: 'env-key' };
    expect(resolveConnection({ env, packageRoot: pkg })).toEqual({ apiBase: 'https://fnbatch.example.net/api', key: 'env-key' });
    expect(resolveConnection({ endpoint: 'http://localhost:8080/api/', key: 'flag-key', env, packageRoot: pkg })).toEqual({
      apiBase: 'http://localhost:8080/api',
      key: 'flag-key',
    });
  });

  it('never sends the local key to a remote endpoint', () => {
    expect(resolveConnection({ env: { FNBATCH_ENDPOINT: 'https://fnbatch.example.net' }, packageRoot: pkg })).toEqual({
      apiBase: 'https://fnbatch.example.net/api',
    });
  });

  it('goes without a key when the local host has never run from this folder', () => {
    expect(resolveConnection({ env: {}, packageRoot: path.join(tmp, 'empty') })).toEqual({ apiBase: `${DEFAULT_ENDPOINT}/api` });
  });

  it('accepts the origin or the API base', () => {
    expect(apiBaseOf('http://127.0.0.1:7071')).toBe('http://127.0.0.1:7071/api');
    expect(apiBaseOf('http://127.0.0.1:7071/')).toBe('http://127.0.0.1:7071/api');
    expect(apiBaseOf('http://127.0.0.1:7071/api')).toBe('http://127.0.0.1:7071/api');
    expect(() => apiBaseOf('not a url')).toThrow(/is not a URL/);
  });
});

describe('job files', () => {
  it('reads JSON and YAML into the same body', () => {
    writeFileSync(path.join(tmp, 'j.json'), JSON.stringify({ id: 'j', poolInfo: { poolId: 'p' }, tasks: [{ id: 't', commandLine: 'true' }] }));
    writeFileSync(path.join(tmp, 'j.yaml'), 'id: j\npoolInfo:\n  poolId: p\ntasks:\n  - id: t\n    commandLine: "true"\n');
    expect(readJobFile('j.yaml', tmp)).toEqual(readJobFile('j.json', tmp));
  });

  it('rejects files that are not one object, naming the file', () => {
    writeFileSync(path.join(tmp, 'list.json'), '[1, 2]');
    writeFileSync(path.join(tmp, 'broken.yml'), 'id: [unclosed');
    expect(() => readJobFile('list.json', tmp)).toThrow(/list.json must hold one object/);
    expect(() => readJobFile('broken.yml', tmp)).toThrow(/broken.yml is not valid YAML/);
  });
});

describe('rendering', () => {
  it('aligns table columns without trailing blanks', () => {
    expect(renderTable(['ID', 'STATE'], [['a-long-id', 'active'], ['b', '']])).toBe('ID         STATE\na-long-id  active\nb\n');
  });

  it('shows pools, jobs and tasks as tables', () => {
    const pool = { id: 'p1', state: 'active', allocationState: 'steady', vmSize: 'local', currentDedicatedNodes: 2, targetDedicatedNodes: 2, currentLowPriorityNodes: 0, targetLowPriorityNodes: 1, taskSlotsPerNode: 4 };
    expect(poolTable([pool]).split('\n')[1]).toMatch(/^p1\s+active\s+steady\s+local\s+2\/2\s+0\/1\s+4$/);
    const job = { id: 'j1', state: 'completed', poolInfo: { poolId: 'p1' }, priority: 0, creationTime: '2024-01-01T00:00:00.000Z' };
    expect(jobTable([job]).split('\n')[1]).toMatch(/^j1\s+completed\s+p1\s+0\s+2024-01-01T00:00:00.000Z$/);
    const task = {
      id: 't1',
      state: 'completed',
      executionInfo: { result: 'failure', exitCode: 3, failureInfo: { code: 'FailureExitCode', message: 'The task exited with code 3.' } },
      nodeInfo: { nodeId: 'p1-d1' },
    };
    expect(taskTable([task]).split('\n')[1]).toMatch(/^t1\s+completed\s+failure\s+3\s+p1-d1\s+FailureExitCode$/);
    expect(failedTaskLine(task)).toBe('t1: FailureExitCode: The task exited with code 3. (exit code 3)');
  });

  it("prints Batch's error code, message and values", () => {
    const err = new ServiceError(400, 'InvalidPropertyValue', 'The value provided for one of the properties in the request body is invalid.', [
      { key: 'PropertyName', value: 'tasks[0].commandLine' },
      { key: 'Reason', value: 'must be a non-empty string' },
    ]);
    expect(errorText(err)).toBe(
      'InvalidPropertyValue: The value provided for one of the properties in the request body is invalid.\n' +
        '  PropertyName: tasks[0].commandLine\n  Reason: must be a non-empty string\n',
    );
  });

  it('draws a progress bar whose cells add up to the width', () => {
    const counts: TaskCounts = { active: 2, running: 2, completed: 6, succeeded: 5, failed: 1 };
    const line = progressLine(counts, 2500, 10);
    expect(line).toBe('[#####!>>..] 6/10  active 2  running 2  succeeded 5  failed 1  2.5 s');
    expect(progressLine({ active: 0, running: 0, completed: 0, succeeded: 0, failed: 0 }, 0, 4)).toMatch(/^\[\.\.\.\.\] 0\/0/);
  });

  it('summarizes a finished job with its failed tasks', () => {
    const failed: Resource = { id: 'next-step', executionInfo: { result: 'failure', failureInfo: { code: 'UpstreamTaskFailed', message: 'blocked', details: [{ name: 'RootTaskId', value: 'required-step' }] } } };
    const text = summaryText({
      jobId: 'j',
      jobState: 'completed',
      counts: { active: 0, running: 0, completed: 2, succeeded: 1, failed: 1 },
      elapsedMs: 65_000,
      failedTasks: [failed],
      succeeded: false,
    });
    expect(text).toBe(
      'Job j completed in 1 min 5 s: 2 tasks, 1 succeeded, 1 failed.\nFailed tasks:\n  next-step: UpstreamTaskFailed: blocked [RootTaskId=required-step]\n',
    );
    expect(formatElapsed(1234)).toBe('1.2 s');
  });

  it('finds the fan-in of a DAG, ranges included', () => {
    const tasks: Resource[] = [
      { id: 'setup' },
      { id: '1', dependsOn: { taskIds: ['setup'] } },
      { id: '2', dependsOn: { taskIds: ['SETUP'] } },
      { id: 'report', dependsOn: { taskIdRanges: [{ start: 1, end: 2 }] } },
    ];
    expect(fanInTasks(tasks).map((t) => t.id)).toEqual(['report']);
  });
});
