// The CLI against the real app with a real node: a local host in this process whose pool runs an
// `fnbatch agent` process; the CLI runs as the real bin/fnbatch.js.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHost } from '../../local-host/host.js';
import { BatchClient } from '../../cli/batch-client.js';
import { watchJob } from '../../cli/watch.js';
import { cli, cliEnv, example, runFnbatch, spawnFnbatch, startFnbatchHost, waitFor } from './support.js';

const POOL = 'e2e';
let host: RunningHost;
let client: BatchClient;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fnbatch-cli-e2e-'));

beforeAll(async () => {
  host = await startFnbatchHost(path.join(tmp, 'host-data'));
  client = new BatchClient({ apiBase: `${host.baseUrl}/api`, key: host.keys.functionKey });
  expect((await cli(host, 'pool', 'create', '--id', POOL, '--vm-size', 'local', '--nodes', '1', '--slots', '4')).code).toBe(0);
  await waitFor(async () => {
    const nodes = await client.listNodes(POOL);
    return nodes.length === 1 && nodes[0]!.state === 'idle' ? nodes : undefined;
  }, 'the pool node to be idle');
});

afterAll(async () => {
  // Deleting the pool ends its agent process; the host does not own it.
  await client?.deletePool(POOL).catch(() => undefined);
  await host?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('job submit --watch', () => {
  it('runs examples/diamond.json to the end and exits 0 with the summary', async () => {
    const result = await runFnbatch(['job', 'submit', example('diamond.json'), '--pool', POOL, '--watch'], cliEnv(host));
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(result.out).toContain('Job diamond submitted with 4 tasks; watching it.\n');
    expect(result.out).toMatch(/^\[\d+\.\d s\] diamond: \d+ active, \d+ running, \d+ succeeded, 0 failed$/m);
    expect(result.out).toMatch(/^Job diamond completed in \d+\.\d s: 4 tasks, 4 succeeded, 0 failed\.\n$/m);
    // Not a terminal: plain lines, no redrawing.
    expect(result.out).not.toContain('\r');

    const d = await runFnbatch(['task', 'output', 'diamond', 'd'], cliEnv(host));
    expect(d).toMatchObject({ code: 0, out: 'd: after both b and c\n' });
    expect(await runFnbatch(['task', 'output', 'diamond', 'b', '--stderr'], cliEnv(host))).toMatchObject({ code: 0, out: '' });
    const listed = (await cli(host, 'task', 'list', 'diamond', '--state', 'completed')).out;
    expect(listed).toMatch(/^d\s+completed\s+success\s+0\s+e2e-d1$/m);
  });

  it('exits 1 when a task fails, naming it and the dependent it blocked', async () => {
    const result = await runFnbatch(['job', 'submit', example('failing-block.json'), '--pool', POOL, '--watch'], cliEnv(host));
    expect(result.code).toBe(1);
    expect(result.out).toContain('Job failing-block completed in');
    expect(result.out).toContain('2 tasks, 0 succeeded, 2 failed.');
    expect(result.out).toMatch(/^ {2}required-step: FailureExitCode: .*\(exit code 1\)$/m);
    expect(result.out).toMatch(/^ {2}next-step: UpstreamTaskFailed: .*RootTaskId=required-step/m);
  });

  it('lets the dependent of a failure with dependencyAction satisfy run (--json summary)', async () => {
    const result = await runFnbatch(['job', 'submit', example('failing-satisfy.json'), '--pool', POOL, '--watch', '--json'], cliEnv(host));
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.out) as { taskCounts: Record<string, number>; failedTasks: { id: string; executionInfo: { exitCode?: number } }[] };
    expect(summary.taskCounts).toMatchObject({ completed: 2, succeeded: 1, failed: 1 });
    expect(summary.failedTasks).toEqual([expect.objectContaining({ id: 'optional-step', executionInfo: expect.objectContaining({ exitCode: 3 }) })]);
    // Progress went to stderr, keeping stdout parseable.
    expect(result.err).toContain('failing-satisfy:');
    expect((await cli(host, 'task', 'output', 'failing-satisfy', 'next-step')).out).toBe('next-step ran although optional-step failed\n');
    expect((await cli(host, 'task', 'output', 'failing-satisfy', 'optional-step', '--stderr')).out).toBe('this step is allowed to fail\n');
  });

  it('redraws one progress line in place on a terminal', async () => {
    expect((await cli(host, 'job', 'submit', example('diamond.json'), '--pool', POOL, '--id', 'diamond-tty')).code).toBe(0);
    const writes: string[] = [];
    const result = await watchJob(client, 'diamond-tty', { out: { isTTY: true, columns: 100, write: (c) => writes.push(String(c)) } });
    expect(result.succeeded).toBe(true);
    expect(writes.length).toBeGreaterThan(0);
    for (const w of writes.filter((w) => w !== '\n')) expect(w).toMatch(/^\r\x1b\[2K\[[#!>.]{25}\] \d+\/4 {2}active/);
    expect(writes.at(-2)).toMatch(/\] 4\/4 {2}active 0 {2}running 0 {2}succeeded 4 {2}failed 0/);
    expect(writes.at(-1)).toBe('\n');
  });
});

describe('task output --follow', () => {
  it('tails a running task until it completes', async () => {
    // The task waits for a file this test creates, so it is certainly still running while the
    // follower prints its first line (the node is a local process on this machine).
    const release = path.join(tmp, 'release');
    const job = {
      id: 'follow',
      poolInfo: { poolId: POOL },
      onAllTasksComplete: 'terminatejob',
      tasks: [
        {
          id: 'waiter',
          environmentSettings: [{ name: 'RELEASE_FILE', value: release }],
          commandLine: `/bin/sh -c 'echo "waiting"; i=0; while [ ! -e "$RELEASE_FILE" ] && [ $i -lt 600 ]; do sleep 0.2; i=$((i+1)); done; echo "released"'`,
        },
      ],
    };
    await client.submitJob(job);
    const follower = spawnFnbatch(['task', 'output', 'follow', 'waiter', '--follow'], cliEnv(host));
    await waitFor(async () => (follower.out().includes('waiting\n') ? true : undefined), 'the first line through --follow');
    expect((await client.getTask('follow', 'waiter')).state).toBe('running');
    writeFileSync(release, '');
    const result = await follower.done;
    expect(result).toMatchObject({ code: 0, err: '', out: 'waiting\nreleased\n' });
    expect((await client.getTask('follow', 'waiter')).state).toBe('completed');
  });
});
