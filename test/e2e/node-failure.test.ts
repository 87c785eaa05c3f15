// Kill -9 an agent in the middle of a task: the node stops heartbeating and becomes unusable, and
// the task is requeued (requeueCount grows) and completes on another node, exactly once.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFnbatch, waitUntil, type FnbatchHost } from '../support/fnbatch-host.js';

let fnb: FnbatchHost;
const POOL = 'fragile';

beforeAll(async () => {
  fnb = await startFnbatch();
  expect((await fnb.call('POST', 'pools', { id: POOL, vmSize: 'local', targetDedicatedNodes: 2, taskSlotsPerNode: 1 })).status).toBe(201);
  await waitUntil(async () => ((await fnb.call('GET', `pools/${POOL}/nodes`)).json.value as { state: string }[]).filter((n) => n.state === 'idle').length === 2, 'two idle nodes');
}, 120_000);
afterAll(async () => fnb?.stop());

/** The pid of the agent process running as the given node (read from its environment). */
function agentPid(nodeId: string): number {
  const lines = execFileSync('ps', ['-e', '-o', 'pid=,args='], { encoding: 'utf8' }).split('\n');
  for (const line of lines) {
    if (!line.includes('fnbatch.js agent')) continue;
    const pid = Number(line.trim().split(/\s+/)[0]);
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (env.includes(`FNBATCH_NODE_ID=${nodeId}`)) return pid;
    } catch {
      // the process ended meanwhile
    }
  }
  throw new Error(`no agent process for node ${nodeId}`);
}

describe('losing a node mid-task', () => {
  it('requeues the task, which completes once on the other node, and marks the node unusable', async () => {
    expect(
      (await fnb.call('POST', 'jobs', {
        id: 'survivor',
        poolInfo: { poolId: POOL },
        onAllTasksComplete: 'terminatejob',
        tasks: [{ id: 'long', commandLine: '/bin/sh -c "sleep 4; echo done"' }],
      })).status,
    ).toBe(201);
    const running = await waitUntil(async () => {
      const task = (await fnb.call('GET', 'jobs/survivor/tasks/long')).json;
      return task.state === 'running' ? task : undefined;
    }, 'the task to run');
    const victim = running.nodeInfo.nodeId as string;
    process.kill(agentPid(victim), 'SIGKILL');

    await waitUntil(async () => {
      const nodes = (await fnb.call('GET', `pools/${POOL}/nodes`)).json.value as { id: string; state: string }[];
      const node = nodes.find((n) => n.id === victim);
      return !node || node.state === 'unusable';
    }, 'the dead node to become unusable', 60_000, 200);

    const job = await waitUntil(async () => {
      const j = (await fnb.call('GET', 'jobs/survivor')).json;
      return j.state === 'completed' ? j : undefined;
    }, 'the job to complete', 120_000, 200);
    expect(job.executionInfo.terminateReason).toBe('AllTasksComplete');
    const task = (await fnb.call('GET', 'jobs/survivor/tasks/long')).json;
    expect(task.executionInfo).toMatchObject({ result: 'success', exitCode: 0 });
    expect(task.executionInfo.requeueCount).toBeGreaterThanOrEqual(1);
    expect(task.nodeInfo.nodeId).not.toBe(victim);
    const output = await fetch(`${fnb.host.baseUrl}/api/jobs/survivor/tasks/long/files/stdout.txt`, { headers: { 'x-functions-key': fnb.host.keys.functionKey } });
    expect(await output.text()).toBe('done\n');
    // Completed exactly once: the task's state version moved forward only through its own attempts.
    expect(task.state).toBe('completed');
  }, 180_000);
});
