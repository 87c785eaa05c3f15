// The agent as a real process (`bin/fnbatch.js agent`; needs `npm run build`): what only a process
// shows - its death by kill -9, its SIGTERM handling, its exit status on bad configuration.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type AzuriteHandle } from '../../local-host/services/azurite.js';
import { poolQueueName } from '../../shared/agent-protocol.js';
import { spawnAgent, fnbatchBin, type AgentProcess } from './support/agent-process.js';
import { ControlPlaneDouble, TEST_AGENT_KEY } from './support/control-plane-double.js';
import { agentPids, delay, enqueue, isProcessAlive, taskMessage, uniquePoolId, waitFor } from './support/fixtures.js';

let azurite: AzuriteHandle;
let controlPlane: ControlPlaneDouble;
const agents: AgentProcess[] = [];
const taskGroups: number[] = [];

beforeAll(async () => {
  azurite = await startAzurite({ inMemory: true });
});

afterAll(async () => {
  await azurite?.stop();
});

afterEach(async () => {
  for (const agent of agents.splice(0)) {
    if (agent.child.exitCode === null && agent.child.signalCode === null) agent.child.kill('SIGKILL');
    await agent.exited;
  }
  // Tasks orphaned by a killed agent.
  for (const pgid of taskGroups.splice(0)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await controlPlane?.stop();
});

const queue = (poolId: string) => QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient(poolQueueName(poolId, 'normal'));

async function startAgent(poolId: string, env: Record<string, string> = {}, args: string[] = []): Promise<AgentProcess> {
  const agent = await spawnAgent(controlPlane, azurite.connectionString, poolId, env, args);
  agents.push(agent);
  await agent.ready;
  return agent;
}

/** A task that records its process group id (its own pid: the agent makes each task a group leader). */
const recordingTask = (seconds: number) => taskMessage(`/bin/sh -c "echo \\$\\$ > pid; exec sleep ${seconds}"`);

async function taskPid(agent: AgentProcess, task: { jobId: string; taskId: string }): Promise<number> {
  const file = path.join(agent.workDir, 'tasks', task.jobId, task.taskId, 'wd', 'pid');
  const pid = await waitFor(async () => Number(await readFile(file, 'utf8').catch(() => '')) || undefined, 'task pid');
  taskGroups.push(pid);
  return pid;
}

describe('fnbatch agent process', () => {
  it('exits non-zero with a clear message on bad configuration', async () => {
    const child = spawn(process.execPath, [fnbatchBin, 'agent', '--slots', '2'], {
      env: { PATH: process.env.PATH, FNBATCH_POOL_ID: 'p', FNBATCH_NODE_IS_DEDICATED: 'maybe' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).not.toBe(0);
    expect(err).toContain('FNBATCH_ENDPOINT is not set');
    expect(err).toContain('FNBATCH_STORAGE is not set');
    expect(err).toContain('FNBATCH_NODE_IS_DEDICATED must be true or false');
  });

  it('after kill -9 mid-task, the task message comes back with dequeue count 2', async () => {
    controlPlane = await ControlPlaneDouble.start();
    const poolId = uniquePoolId();
    const agent = await startAgent(poolId, { FNBATCH_LEASE_MS: '2000' });
    const task = recordingTask(30);
    await enqueue(azurite.connectionString, poolId, task);
    await taskPid(agent, task);
    // Longer than the lease: the agent has been extending it.
    await delay(3000);
    expect((await queue(poolId).peekMessages()).peekedMessageItems).toEqual([]);
    agent.child.kill('SIGKILL');
    await agent.exited;
    const message = await waitFor(async () => {
      const [item] = (await queue(poolId).receiveMessages({ visibilityTimeout: 30 })).receivedMessageItems;
      return item;
    }, 'the message to reappear', 15_000);
    expect(message.dequeueCount).toBe(2);
    expect(JSON.parse(message.messageText).dispatchId).toBe(task.dispatchId);
    expect(controlPlane.completionOf(task.taskId)).toBeUndefined();
  });

  it('on SIGTERM lets a running task finish and exits 0', async () => {
    controlPlane = await ControlPlaneDouble.start();
    const poolId = uniquePoolId();
    const agent = await startAgent(poolId);
    const task = taskMessage('sleep 1.5');
    await enqueue(azurite.connectionString, poolId, task);
    await waitFor(() => controlPlane.claims.length === 1, 'claim');
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect(controlPlane.completionOf(task.taskId)).toMatchObject({ exitCode: 0 });
    expect(controlPlane.releases).toEqual([]);
    expect((await queue(poolId).getProperties()).approximateMessagesCount).toBe(0);
  });

  it('on SIGTERM gives back work not started, and after the grace period kills and releases the rest', async () => {
    controlPlane = await ControlPlaneDouble.start();
    const poolId = uniquePoolId();
    const agent = await startAgent(poolId, { FNBATCH_TASK_SLOTS: '2' }, ['--grace-ms', '1000']);
    const long = recordingTask(60);
    const waiting = taskMessage('true', { requiredSlots: 2 });
    await enqueue(azurite.connectionString, poolId, long);
    const pid = await taskPid(agent, long);
    await enqueue(azurite.connectionString, poolId, waiting);
    // The two-slot task is held (invisible) waiting for the slot the long task occupies.
    await waitFor(async () => ((await queue(poolId).peekMessages()).peekedMessageItems.length === 0 ? true : undefined), 'the waiting task to be held');
    await delay(300);
    const stoppedAt = Date.now();
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(900);
    expect(controlPlane.claims.map((c) => c.body.taskId)).toEqual([long.taskId]);
    expect(controlPlane.releases.map((r) => r.body.dispatchId)).toEqual([long.dispatchId]);
    expect(controlPlane.completions).toEqual([]);
    expect(isProcessAlive(pid)).toBe(false);
    // Both messages are visible again at once, for other nodes.
    const visible = (await queue(poolId).peekMessages({ numberOfMessages: 32 })).peekedMessageItems.map((m) => JSON.parse(m.messageText).taskId);
    expect(visible.sort()).toEqual([long.taskId, waiting.taskId].sort());
  });

  it('leaves once its parent is gone when asked to (local nodes do not outlive the host)', async () => {
    controlPlane = await ControlPlaneDouble.start();
    const poolId = uniquePoolId();
    const nodeId = `${poolId}-orphan`;
    // The shell starts the agent in the background and exits two seconds later, orphaning it.
    const shell = spawn('/bin/sh', ['-c', `"${process.execPath}" "${fnbatchBin}" agent & sleep 2`], {
      env: {
        ...process.env,
        FNBATCH_ENDPOINT: controlPlane.baseUrl,
        FNBATCH_AGENT_KEY: TEST_AGENT_KEY,
        FNBATCH_POOL_ID: poolId,
        FNBATCH_NODE_ID: nodeId,
        FNBATCH_STORAGE: azurite.connectionString,
        FNBATCH_EXIT_WITH_PARENT: '1',
      },
      stdio: 'ignore',
    });
    await waitFor(() => controlPlane.heartbeats.find((h) => h.body.nodeId === nodeId), 'a heartbeat from the agent');
    await new Promise((resolve) => shell.once('exit', resolve));
    await waitFor(() => (agentPids(nodeId).length === 0 ? true : undefined), 'the orphaned agent to leave', 15_000);
  });
});
