// The agent running tasks, in-process, against a real Azurite (queues and blobs) and a test double
// of the control plane's agent API.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type AzuriteHandle } from '../../local-host/services/azurite.js';
import { PACK_HOLD_BACK_MS, poolQueueName, SPREAD_HOLD_BACK_MS, TASK_OUTPUT_CONTAINER, taskOutputBlobName, type PriorityBand } from '../../shared/agent-protocol.js';
import { BandReceiver, poisonQueueName } from '../../agent/band-receiver.js';
import { ControlPlaneDouble } from './support/control-plane-double.js';
import { delay, enqueue, isProcessAlive, taskMessage, uniquePoolId, waitFor } from './support/fixtures.js';
import { startTestAgent, type TestAgent } from './support/in-process-agent.js';

let azurite: AzuriteHandle;
let controlPlane: ControlPlaneDouble;
let running: TestAgent[] = [];

beforeAll(async () => {
  azurite = await startAzurite({ inMemory: true });
});

afterAll(async () => {
  await azurite?.stop();
});

afterEach(async () => {
  for (const { agent } of running) await agent.stop(0);
  running = [];
  await controlPlane?.stop();
});

async function setUp(config: Parameters<typeof startTestAgent>[3] = {}, tuning: Parameters<typeof startTestAgent>[4] = {}) {
  controlPlane = await ControlPlaneDouble.start();
  const poolId = uniquePoolId();
  const started = await startTestAgent(controlPlane, azurite.connectionString, poolId, config, tuning);
  running.push(started);
  return { ...started, poolId };
}

const send = (poolId: string, message: Parameters<typeof enqueue>[2], band?: PriorityBand) => enqueue(azurite.connectionString, poolId, message, band);
const completion = (taskId: string, timeoutMs?: number) => waitFor(() => controlPlane.completionOf(taskId), `completion of ${taskId}`, timeoutMs);
const blobText = async (jobId: string, taskId: string, file: 'stdout.txt' | 'stderr.txt') => {
  const blob = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(TASK_OUTPUT_CONTAINER).getBlobClient(taskOutputBlobName(jobId, taskId, file));
  return (await blob.downloadToBuffer()).toString();
};
const queueClient = (poolId: string, band: PriorityBand = 'normal') =>
  QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient(poolQueueName(poolId, band));

describe('running a command', () => {
  it('runs the command line without a shell and reports exit code 0 with the output in blobs', async () => {
    const { poolId, config } = await setUp();
    const task = taskMessage('echo $HOME "two  words" *');
    await send(poolId, task);
    const done = await completion(task.taskId);
    expect(done).toMatchObject({ exitCode: 0, dispatchId: task.dispatchId, nodeId: config.nodeId, poolId });
    expect(done.failure).toBeUndefined();
    expect(Date.parse(done.endTime)).toBeGreaterThanOrEqual(Date.parse(done.startTime));
    expect(await blobText(task.jobId, task.taskId, 'stdout.txt')).toBe('$HOME two  words *\n');
    const local = await readFile(path.join(config.workDir, 'tasks', task.jobId, task.taskId, 'stdout.txt'), 'utf8');
    expect(local).toBe('$HOME two  words *\n');
    // The message is deleted once the end is reported.
    await waitFor(async () => (await queueClient(poolId).getProperties()).approximateMessagesCount === 0, 'message deleted');
  });

  it('reports non-zero exit codes as they are, with stderr in its blob', async () => {
    const { poolId } = await setUp();
    const task = taskMessage(`/bin/sh -c "echo oops >&2; exit 3"`);
    await send(poolId, task);
    const done = await completion(task.taskId);
    expect(done.exitCode).toBe(3);
    expect(done.failure).toBeUndefined();
    expect(await blobText(task.jobId, task.taskId, 'stderr.txt')).toBe('oops\n');
    // Nothing was written to stdout, so no blob was made for it (the API serves it as empty).
    await expect(blobText(task.jobId, task.taskId, 'stdout.txt')).rejects.toMatchObject({ statusCode: 404 });
  });

  it("runs tasks the same way with Node's own spawn (FNBATCH_AGENT_LAUNCHER=node-spawn)", async () => {
    const { poolId, config } = await setUp({ launcher: 'node-spawn' });
    const task = taskMessage(`/bin/sh -c "echo out; echo err >&2; exit 2"`);
    await send(poolId, task);
    const done = await completion(task.taskId);
    expect(done).toMatchObject({ exitCode: 2, nodeId: config.nodeId });
    expect(await blobText(task.jobId, task.taskId, 'stdout.txt')).toBe('out\n');
    expect(await blobText(task.jobId, task.taskId, 'stderr.txt')).toBe('err\n');
  });

  it("starts a later attempt of a task with none of the earlier attempt's output, on the node or in blobs", async () => {
    const { poolId, config } = await setUp();
    const first = taskMessage(`/bin/sh -c "echo first attempt; echo first error >&2"`);
    await send(poolId, first);
    await completion(first.taskId);
    expect(await blobText(first.jobId, first.taskId, 'stdout.txt')).toBe('first attempt\n');
    const second = taskMessage('/bin/true', { taskId: first.taskId, retryCount: 1 });
    await send(poolId, second);
    await waitFor(() => controlPlane.completions.some((c) => c.body.dispatchId === second.dispatchId), 'the second attempt to end');
    const taskDir = path.join(config.workDir, 'tasks', first.jobId, first.taskId);
    expect(await readFile(path.join(taskDir, 'stdout.txt'), 'utf8')).toBe('');
    expect(await readFile(path.join(taskDir, 'stderr.txt'), 'utf8')).toBe('');
    expect(await blobText(first.jobId, first.taskId, 'stdout.txt')).toBe('');
    expect(await blobText(first.jobId, first.taskId, 'stderr.txt')).toBe('');
  });

  it("sets Batch's environment variables and the task's own, and runs in a fresh working directory", async () => {
    const { poolId, config } = await setUp();
    const script = 'echo "$AZ_BATCH_TASK_ID|$AZ_BATCH_JOB_ID|$AZ_BATCH_POOL_ID|$AZ_BATCH_NODE_ID|$AZ_BATCH_NODE_IS_DEDICATED|$AZ_BATCH_TASK_RETRY_COUNT|$MY_SETTING|$AZ_BATCH_TASK_WORKING_DIR|${FNBATCH_AGENT_KEY:-no key}"; pwd; ls -A; touch left-behind';
    const task = taskMessage(`/bin/sh -c '${script}'`, { jobId: 'envjob', environment: [{ name: 'MY_SETTING', value: 'a b $c' }, { name: 'AZ_BATCH_JOB_ID', value: 'task wins' }] });
    await send(poolId, task);
    await completion(task.taskId);
    const wd = path.join(config.workDir, 'tasks', 'envjob', task.taskId, 'wd');
    const lines = (await blobText('envjob', task.taskId, 'stdout.txt')).split('\n');
    expect(lines[0]).toBe(`${task.taskId}|task wins|${poolId}|${config.nodeId}|true|0|a b $c|${wd}|no key`);
    expect(lines[1]).toBe(wd);
    expect(lines[2]).toBe(''); // ls -A of an empty directory

    // The next attempt of the same task starts with an empty working directory again.
    const again = taskMessage(`/bin/sh -c "ls -A"`, { jobId: 'envjob', taskId: task.taskId });
    await send(poolId, again);
    await waitFor(() => controlPlane.completions.find((c) => c.body.dispatchId === again.dispatchId), 'second attempt');
    expect(await blobText('envjob', task.taskId, 'stdout.txt')).toBe('');
  });

  it('reports a missing program as a user error and keeps working', async () => {
    const { poolId } = await setUp();
    const missing = taskMessage('/no/such/program --flag');
    const script = path.join(await mkdtemp(path.join(os.tmpdir(), 'fnbatch-noexec-')), 'script.sh');
    await writeFile(script, '#!/bin/sh\necho hi\n', { mode: 0o644 });
    const notExecutable = taskMessage(script);
    const after = taskMessage('true');
    await send(poolId, missing);
    await send(poolId, notExecutable);
    await send(poolId, after);
    const done = await completion(missing.taskId);
    expect(done.exitCode).toBeNull();
    expect(done.failure).toMatchObject({ category: 'usererror', code: 'CommandProgramNotFound' });
    expect(done.failure!.message).toContain('/no/such/program');
    expect((await completion(notExecutable.taskId)).failure).toMatchObject({ category: 'usererror', code: 'CommandProgramNotExecutable' });
    expect((await completion(after.taskId)).exitCode).toBe(0);
  });

  it('reports an unparseable command line as a user error', async () => {
    const { poolId } = await setUp();
    const task = taskMessage(`echo "unterminated`);
    await send(poolId, task);
    expect((await completion(task.taskId)).failure).toMatchObject({ category: 'usererror', code: 'CommandLineInvalid' });
  });
});

describe('killing tasks', () => {
  it('kills the whole process group when the wall clock runs out', async () => {
    const { poolId, config } = await setUp();
    // The grandchild would outlive a kill of the direct child alone.
    const task = taskMessage(`/bin/sh -c "sleep 60 & echo \\$! > grandchild.pid; sleep 60"`, { maxWallClockMs: 1500 });
    await send(poolId, task);
    const done = await completion(task.taskId);
    expect(done).toMatchObject({ exitCode: null, killedBy: 'maxWallClockTime', failure: { category: 'usererror', code: 'MaxWallClockTimeExpiry' } });
    const elapsed = Date.parse(done.endTime) - Date.parse(done.startTime);
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(20_000);
    const pid = Number(await readFile(path.join(config.workDir, 'tasks', task.jobId, task.taskId, 'wd', 'grandchild.pid'), 'utf8'));
    expect(pid).toBeGreaterThan(0);
    await waitFor(() => !isProcessAlive(pid), 'the grandchild to die', 5_000);
  });

  it('terminates a task named in a heartbeat answer within a second or so', async () => {
    const { poolId } = await setUp();
    controlPlane.nextHeartbeatMs = 500;
    const task = taskMessage('sleep 60');
    await send(poolId, task);
    await waitFor(() => controlPlane.heartbeats.find((h) => h.body.runningTasks.some((t) => t.dispatchId === task.dispatchId)), 'task running');
    const asked = Date.now();
    controlPlane.killOnNextHeartbeat({ jobId: task.jobId, taskId: task.taskId, dispatchId: task.dispatchId });
    const done = await completion(task.taskId);
    const reportedAt = controlPlane.completions.find((c) => c.body.taskId === task.taskId)!.at;
    expect(reportedAt - asked).toBeLessThan(1500);
    expect(done).toMatchObject({ exitCode: null, killedBy: 'terminate' });
  });
});

describe('slots and priorities', () => {
  it('never runs more slots than the node has, honours requiredSlots and fails tasks too big for the node', async () => {
    const { poolId } = await setUp({ taskSlots: 3 });
    const sleepy = (slots: number) => taskMessage(`sleep 0.6`, { requiredSlots: slots });
    const tasks = [sleepy(1), sleepy(2), sleepy(1), sleepy(3), sleepy(1), sleepy(2), sleepy(1), sleepy(1)];
    const tooBig = taskMessage('true', { requiredSlots: 4 });
    for (const task of tasks) await send(poolId, task);
    await send(poolId, tooBig);
    const oversized = await completion(tooBig.taskId);
    expect(oversized).toMatchObject({ exitCode: null, failure: { category: 'usererror', code: 'TaskRequiredSlotsExceedNodeSlots' } });
    for (const task of tasks) expect((await completion(task.taskId)).exitCode).toBe(0);

    const slotsOf = new Map(tasks.map((t) => [t.taskId, t.requiredSlots]));
    const events = controlPlane.completions
      .filter((c) => slotsOf.has(c.body.taskId))
      .flatMap((c) => [
        { at: Date.parse(c.body.startTime), delta: slotsOf.get(c.body.taskId)! },
        { at: Date.parse(c.body.endTime), delta: -slotsOf.get(c.body.taskId)! },
      ])
      .sort((a, b) => a.at - b.at || a.delta - b.delta);
    let inUse = 0;
    let peak = 0;
    for (const e of events) {
      inUse += e.delta;
      peak = Math.max(peak, inUse);
    }
    expect(peak).toBeLessThanOrEqual(3);
    // The node did run tasks side by side.
    expect(peak).toBeGreaterThanOrEqual(2);
    // Heartbeats never reported more slots in use than the node has.
    for (const h of controlPlane.heartbeats) expect(h.body.runningTasks.reduce((sum, t) => sum + t.slots, 0)).toBeLessThanOrEqual(3);
  });

  it('while a lower band yields work, looks at empty higher bands again only after a short while', async () => {
    const poolId = uniquePoolId();
    const receiver = await BandReceiver.open(QueueServiceClient.fromConnectionString(azurite.connectionString), poolId, () => undefined, 400);
    for (let i = 0; i < 3; i++) await send(poolId, taskMessage('true', { taskId: `normal-${i}` }), 'normal');
    const first = await receiver.receiveUpTo(1, 30_000);
    expect(first.map((r) => r.task.taskId)).toEqual(['normal-0']);
    await send(poolId, taskMessage('true', { taskId: 'urgent' }), 'high');
    // The high band was empty a moment ago: not looked at again yet.
    expect((await receiver.receiveUpTo(1, 30_000)).map((r) => r.task.taskId)).toEqual(['normal-1']);
    await delay(450);
    expect((await receiver.receiveUpTo(1, 30_000)).map((r) => r.task.taskId)).toEqual(['urgent']);
    expect((await receiver.receiveUpTo(1, 30_000)).map((r) => r.task.taskId)).toEqual(['normal-2']);
  });

  it('takes work from a higher band first', async () => {
    controlPlane = await ControlPlaneDouble.start();
    const poolId = uniquePoolId();
    const low = taskMessage('true', { taskId: 'low' });
    const normal = taskMessage('true', { taskId: 'normal' });
    const high = taskMessage('true', { taskId: 'high' });
    await send(poolId, low, 'low');
    await send(poolId, normal, 'normal');
    await send(poolId, high, 'high');
    running.push(await startTestAgent(controlPlane, azurite.connectionString, poolId));
    await completion('low');
    expect(controlPlane.claims.map((c) => c.body.taskId)).toEqual(['high', 'normal', 'low']);
  });
});

describe('talking to the control plane', () => {
  it('sends end reports that pile up behind a slow call together, each answered once', async () => {
    const { poolId } = await setUp({ taskSlots: 8 });
    controlPlane.completeDelayMs = 400;
    const tasks = Array.from({ length: 12 }, () => taskMessage('true'));
    for (const task of tasks) await send(poolId, task);
    for (const task of tasks) await completion(task.taskId);
    const withEnds = controlPlane.reportCalls.filter((call) => call.body.completions.length > 0);
    // At most two calls are out at once, so twelve ends that come within one slow round trip need fewer calls.
    expect(withEnds.length).toBeLessThan(tasks.length);
    expect(Math.max(...withEnds.map((call) => call.body.completions.length))).toBeGreaterThan(1);
    expect(controlPlane.completions.map((c) => c.body.taskId).sort()).toEqual(tasks.map((t) => t.taskId).sort());
    await waitFor(async () => (await queueClient(poolId).getProperties()).approximateMessagesCount === 0, 'messages deleted');
  });

  // Polls of the queues an hour apart: only the signal can bring the node its work.
  const noPolls = { pollInitialMs: 3_600_000, pollMaxMs: 3_600_000, pollRecentMaxMs: 3_600_000 };

  it('an idle node waits on the work signal where it is offered, and starts work as soon as it is signalled', async () => {
    const { poolId } = await setUp({}, noPolls);
    controlPlane.offerWorkSignal = true;
    await waitFor(() => (controlPlane.heldWorkSignals > 0 ? true : undefined), 'a work-signal request held');
    const task = taskMessage('true');
    await send(poolId, task);
    await delay(1_000);
    expect(controlPlane.claims).toEqual([]);
    controlPlane.signalWork();
    await completion(task.taskId);
    // Each held request named the count last answered; the first asked for it.
    expect(controlPlane.workSignalCalls[0]!.body.after).toBeUndefined();
    expect(controlPlane.workSignalCalls.slice(1).every((call) => call.body.after === 0 || call.body.after === 1)).toBe(true);
  });

  it('polls the queues again when the offered signal is refused', async () => {
    const { poolId } = await setUp({}, { pollMaxMs: 3_600_000 });
    controlPlane.offerWorkSignal = true;
    controlPlane.refuseWorkSignal = true;
    // A node stuck waiting on a signal that fails would make no second request.
    await waitFor(() => (controlPlane.workSignalCalls.length > 1 ? true : undefined), 'work-signal requests after a refusal');
    const task = taskMessage('true');
    await send(poolId, task);
    await completion(task.taskId);
  });
});

describe('keeping slots busy', () => {
  /** A one-slot node that has just run short tasks, so it sees tasks ending quickly and takes messages ahead. */
  async function oneSlotNodeTakingAhead(): Promise<string> {
    const { poolId } = await setUp({ taskSlots: 1 });
    const quick = [taskMessage('true'), taskMessage('true'), taskMessage('true')];
    for (const task of quick) await send(poolId, task);
    for (const task of quick) await completion(task.taskId);
    return poolId;
  }

  it("frees a task's slot when its process ends, not when its slow report is answered", async () => {
    const { poolId } = await setUp({ taskSlots: 1 });
    controlPlane.completeDelayMs = 1500;
    const first = taskMessage('true');
    const second = taskMessage('true');
    await send(poolId, first);
    await send(poolId, second);
    await completion(second.taskId);
    const reportOfFirst = controlPlane.completions.find((c) => c.body.taskId === first.taskId)!;
    const claimOfSecond = controlPlane.claims.find((c) => c.body.taskId === second.taskId)!;
    // The second task was claimed while the first one's report was still waiting for its answer.
    expect(claimOfSecond.at).toBeLessThan(reportOfFirst.at + 1000);
    // Both messages are deleted once their reports are answered.
    await waitFor(async () => (await queueClient(poolId).getProperties()).approximateMessagesCount === 0, 'messages deleted');
    // A task whose report is pending is not running: heartbeats never showed more than the one slot.
    for (const h of controlPlane.heartbeats) expect(h.body.runningTasks.length).toBeLessThanOrEqual(1);
  });

  it('claims the next task while every slot is busy, so it starts as soon as one frees', async () => {
    const poolId = await oneSlotNodeTakingAhead();
    const busy = taskMessage('sleep 0.8');
    const later = [taskMessage('true'), taskMessage('true'), taskMessage('true')];
    await send(poolId, busy);
    for (const task of later) await send(poolId, task);
    const next = later[0]!;
    const done = await completion(next.taskId, 15_000);
    const endOfBusy = controlPlane.completionOf(busy.taskId)!;
    const claimOfNext = controlPlane.claims.find((c) => c.body.dispatchId === next.dispatchId)!;
    // Claimed while the one slot was still taken, and started right after it freed.
    expect(claimOfNext.at).toBeLessThan(Date.parse(endOfBusy.endTime));
    expect(Date.parse(done.startTime)).toBeGreaterThanOrEqual(Date.parse(endOfBusy.endTime));
    // Never more claimed ahead of a free slot than the look-ahead of a one-slot node (two).
    const claimedAhead = controlPlane.claims.filter((c) => later.some((t) => t.dispatchId === c.body.dispatchId) && c.at < Date.parse(endOfBusy.endTime));
    expect(claimedAhead.length).toBeLessThanOrEqual(2);
    for (const task of later) await completion(task.taskId);
    expect(controlPlane.releases).toEqual([]);
    for (const h of controlPlane.heartbeats) expect(h.body.runningTasks.length).toBeLessThanOrEqual(1);
  });

  it('claims ahead even when the queue runs short, while no other node is idle', async () => {
    const poolId = await oneSlotNodeTakingAhead();
    const busy = taskMessage('sleep 0.8');
    await send(poolId, busy);
    await waitFor(() => controlPlane.claims.some((c) => c.body.taskId === busy.taskId), 'claim of the busy task');
    // The queue now holds one message at a time: every receive brings less than the node asks for.
    const next = taskMessage('true');
    await send(poolId, next);
    await completion(next.taskId, 15_000);
    const endOfBusy = controlPlane.completionOf(busy.taskId)!;
    const claimOfNext = controlPlane.claims.find((c) => c.body.dispatchId === next.dispatchId)!;
    // Claimed while the one slot was still taken (the double's answers name no idle peer).
    expect(claimOfNext.at).toBeLessThan(Date.parse(endOfBusy.endTime));
  });

  it('starts a task claimed ahead in the slot of the task before it without the agent: the launcher does, at the exit', async () => {
    const poolId = await oneSlotNodeTakingAhead();
    const marker = path.join(await mkdtemp(path.join(os.tmpdir(), 'fnbatch-standby-')), 'started');
    const busy = taskMessage('sleep 1');
    const next = taskMessage(`/bin/sh -c 'date +%s%3N > ${marker}'`);
    await send(poolId, busy);
    await send(poolId, next);
    await waitFor(() => controlPlane.claims.find((c) => c.body.dispatchId === next.dispatchId), 'the next task claimed ahead');
    await delay(300);
    expect(controlPlane.completionOf(busy.taskId)).toBeUndefined();
    // The agent's event loop stands still until well after the busy task's end: only the launcher
    // can start the next task meanwhile.
    const until = Date.now() + 3_000;
    while (Date.now() < until) {
      // busy-wait: nothing of the agent runs
    }
    const startedAt = Number((await readFile(marker, 'utf8').catch(() => '')).trim());
    expect(startedAt).toBeGreaterThan(0);
    expect(startedAt).toBeLessThan(until);
    const [busyEnd, nextEnd] = [await completion(busy.taskId), await completion(next.taskId)];
    expect(nextEnd.exitCode).toBe(0);
    expect(Date.parse(nextEnd.startTime)).toBeGreaterThanOrEqual(Date.parse(busyEnd.endTime));
    for (const h of controlPlane.heartbeats) expect(h.body.runningTasks.length).toBeLessThanOrEqual(1);
  });

  it('reports a task claimed ahead in its heartbeats, and ends it unstarted when the control plane asks to kill it', async () => {
    const poolId = await oneSlotNodeTakingAhead();
    controlPlane.nextHeartbeatMs = 100;
    const busy = taskMessage('sleep 2');
    const next = taskMessage('echo ran');
    await send(poolId, busy);
    await send(poolId, next);
    await waitFor(() => controlPlane.heartbeats.find((h) => h.body.claimedAhead?.some((t) => t.dispatchId === next.dispatchId)), 'the task claimed ahead in a heartbeat');
    controlPlane.killOnNextHeartbeat({ jobId: next.jobId, taskId: next.taskId, dispatchId: next.dispatchId });
    const done = await completion(next.taskId);
    expect(done).toMatchObject({ exitCode: null, killedBy: 'terminate', failure: { code: 'TaskTerminated' } });
    // Ended while the task before it still ran, without ever starting.
    expect(controlPlane.completionOf(busy.taskId)).toBeUndefined();
    await completion(busy.taskId);
    await expect(blobText(next.jobId, next.taskId, 'stdout.txt')).rejects.toMatchObject({ statusCode: 404 });
    await waitFor(async () => (await queueClient(poolId).getProperties()).approximateMessagesCount === 0, 'messages deleted');
  });

  it('gives back a message it took ahead once the tasks before it turn out to be long', async () => {
    const poolId = await oneSlotNodeTakingAhead();
    const long = taskMessage('sleep 6');
    const next = taskMessage('true');
    await send(poolId, long);
    await send(poolId, next);
    await waitFor(() => controlPlane.claims.some((c) => c.body.taskId === long.taskId), 'claim of the long task');
    // While the long task runs, the next message is (again) visible for other nodes to take.
    const [visible] = await waitFor(async () => {
      const peeked = (await queueClient(poolId).peekMessages()).peekedMessageItems;
      return peeked.length === 1 ? peeked : undefined;
    }, 'the next message visible', 5_000);
    // It had been taken (received once) and given back.
    expect(visible!.dequeueCount).toBe(1);
    expect(controlPlane.completionOf(long.taskId)).toBeUndefined();
    // It was claimed ahead (every slot was busy) and handed back to the control plane unstarted,
    // which puts it back in the queue without counting a requeue.
    expect(controlPlane.releases.map((r) => r.body)).toEqual([expect.objectContaining({ taskId: next.taskId, dispatchId: next.dispatchId, unstarted: true })]);
    // It still runs here once the slot is free.
    expect((await completion(next.taskId, 15_000)).exitCode).toBe(0);
  });
});

describe('queue messages', () => {
  it('keeps a long task message invisible beyond its lease, and deletes it at the end', async () => {
    const { poolId } = await setUp({ leaseMs: 2000 });
    const task = taskMessage('sleep 5');
    await send(poolId, task);
    await waitFor(() => controlPlane.claims.length === 1, 'claim');
    const queue = queueClient(poolId);
    for (let i = 0; i < 4; i++) {
      await delay(1000);
      // Past the 2 s lease the message would be visible to a peek if the lease were not extended.
      expect((await queue.peekMessages()).peekedMessageItems).toEqual([]);
      expect((await queue.getProperties()).approximateMessagesCount).toBe(1);
    }
    await completion(task.taskId);
    await waitFor(async () => (await queue.getProperties()).approximateMessagesCount === 0, 'message deleted');
    expect(controlPlane.claims).toHaveLength(1);
  });

  it('holding back (pack), leaves a new message to the node pack favours, and takes it only after a while', async () => {
    const { poolId } = await setUp();
    controlPlane.holdBack = true;
    const answered = controlPlane.heartbeats.length + 2;
    await waitFor(() => controlPlane.heartbeats.length >= answered, 'a heartbeat answered with hold back');

    // Another node (here the test) takes the first message within the hold back: this one never claims it.
    const taken = taskMessage('touch should-not-exist');
    await send(poolId, taken);
    await delay(100);
    const [other] = (await queueClient(poolId).receiveMessages({ visibilityTimeout: 60 })).receivedMessageItems;
    expect(JSON.parse(other!.messageText).taskId).toBe(taken.taskId);

    // Nobody takes the next one: this node does, once it has left it there long enough.
    const task = taskMessage('true');
    const sentAt = Date.now();
    await send(poolId, task);
    await completion(task.taskId);
    const claim = controlPlane.claims.find((c) => c.body.taskId === task.taskId)!;
    expect(claim.at - sentAt).toBeGreaterThanOrEqual(PACK_HOLD_BACK_MS);
    expect(controlPlane.claims.map((c) => c.body.taskId)).toEqual([task.taskId]);
  });

  it('under spread with an idle peer, takes one task, leaving the next to the peer for a while', async () => {
    const { poolId } = await setUp({ taskSlots: 4 });
    controlPlane.idlePeers = 1;
    const answered = controlPlane.heartbeats.length + 2;
    await waitFor(() => controlPlane.heartbeats.length >= answered, 'a heartbeat answered with an idle peer');

    // Nobody else takes them: this node takes the first at once and the second only once it has
    // left it at the front for SPREAD_HOLD_BACK_MS. Without the idle peer it would take both together.
    const [first, second] = [taskMessage('sleep 30'), taskMessage('sleep 30')];
    await send(poolId, first);
    await send(poolId, second);
    await waitFor(() => controlPlane.claims.length === 2, 'both claims');
    const claimOf = (taskId: string) => controlPlane.claims.find((c) => c.body.taskId === taskId)!;
    // The hold starts once the node has looked at the front, just after it sent the first claim,
    // which may reach the double a moment later: most of the hold is left as margin. (Taken
    // together, both claims would go in one call.)
    expect(claimOf(second.taskId).at - claimOf(first.taskId).at).toBeGreaterThanOrEqual(SPREAD_HOLD_BACK_MS / 5);
  });

  it('under spread, a node running tasks leaves one message to the idle peer and takes those beyond it at once', async () => {
    const { poolId } = await setUp({ taskSlots: 4 });
    controlPlane.idlePeers = 1;
    const answered = controlPlane.heartbeats.length + 2;
    await waitFor(() => controlPlane.heartbeats.length >= answered, 'a heartbeat answered with an idle peer');
    const running = taskMessage('sleep 30');
    await send(poolId, running);
    await waitFor(() => controlPlane.claims.length === 1, 'the first claim');

    // Nobody else takes them: the node, now running a task, takes all but the last at once, and
    // the last, left to the idle peer, only once the hold is up. (Before, it held back the whole
    // burst and then took it all together.)
    const burst = [taskMessage('sleep 30'), taskMessage('sleep 30'), taskMessage('sleep 30')];
    for (const task of burst) await send(poolId, task);
    await waitFor(() => controlPlane.claims.length === 4, 'the burst claimed');
    const claimOf = (taskId: string) => controlPlane.claims.find((c) => c.body.taskId === taskId)!;
    expect(controlPlane.claims.slice(1).map((c) => c.body.taskId)).toEqual(burst.map((t) => t.taskId));
    expect(claimOf(burst[2]!.taskId).at - claimOf(burst[1]!.taskId).at).toBeGreaterThanOrEqual(SPREAD_HOLD_BACK_MS / 5);
  });

  it('deletes a message whose claim is refused and runs nothing', async () => {
    const { poolId } = await setUp();
    const refused = taskMessage('touch should-not-exist');
    const next = taskMessage('true');
    controlPlane.refuseClaim = (claim) => (claim.taskId === refused.taskId ? 'JobNotActive' : undefined);
    await send(poolId, refused);
    await send(poolId, next);
    await completion(next.taskId);
    expect(controlPlane.claims.map((c) => c.body.taskId)).toEqual([refused.taskId, next.taskId]);
    expect(controlPlane.completionOf(refused.taskId)).toBeUndefined();
    // Both messages are deleted: the refused one at the refusal, the other once its end report is
    // answered, which may be a moment after the double recorded the report.
    await waitFor(async () => (await queueClient(poolId).getProperties()).approximateMessagesCount === 0, 'messages deleted');
  });

  it("leaves a running task's folder alone when a duplicate message of it is refused", async () => {
    const { poolId, config } = await setUp({ taskSlots: 2 });
    const running = taskMessage(`/bin/sh -c "echo started; touch marker; sleep 1.5; ls marker"`);
    // The same task again under another dispatch (a resend), which the control plane refuses.
    const duplicate = taskMessage('/bin/true', { jobId: running.jobId, taskId: running.taskId });
    controlPlane.refuseClaim = (claim) => (claim.dispatchId === duplicate.dispatchId ? 'StaleDispatch' : undefined);
    await send(poolId, running);
    const taskDir = path.join(config.workDir, 'tasks', running.jobId, running.taskId);
    await waitFor(async () => (await readFile(path.join(taskDir, 'stdout.txt'), 'utf8').catch(() => '')).includes('started'), 'the first attempt to start');
    await send(poolId, duplicate);
    await waitFor(() => controlPlane.claims.some((c) => c.body.dispatchId === duplicate.dispatchId), 'the claim of the duplicate');
    const done = await completion(running.taskId);
    expect(done).toMatchObject({ dispatchId: running.dispatchId, exitCode: 0 });
    expect(await readFile(path.join(taskDir, 'stdout.txt'), 'utf8')).toBe('started\nmarker\n');
  });

  it('leaves the message when the control plane is unreachable at claim time, and retries the end report until it answers', async () => {
    const { poolId } = await setUp({ leaseMs: 2000 }, { unreachableInitialMs: 200, unreachableMaxMs: 400 });
    controlPlane.down = true;
    const task = taskMessage('true');
    await send(poolId, task);
    // Received, claim failed, message left to reappear: its dequeue count climbs.
    await waitFor(async () => {
      const [peeked] = (await queueClient(poolId).peekMessages()).peekedMessageItems;
      return peeked && peeked.dequeueCount >= 2 ? true : undefined;
    }, 'the message to come back', 20_000);
    controlPlane.down = false;
    await completion(task.taskId, 20_000);

    // Now the report: the task ends while the control plane is down, and is reported once it is back.
    const later = taskMessage('true');
    controlPlane.refuseClaim = (claim) => {
      if (claim.taskId === later.taskId) controlPlane.down = true;
      return undefined;
    };
    await send(poolId, later);
    await waitFor(() => controlPlane.claims.some((c) => c.body.taskId === later.taskId), 'claim of the later task');
    await delay(1500);
    expect(controlPlane.completionOf(later.taskId)).toBeUndefined();
    controlPlane.down = false;
    expect((await completion(later.taskId)).exitCode).toBe(0);
  });

  it('moves poison messages aside, reports them in a heartbeat, and goes on', async () => {
    const { poolId } = await setUp();
    await send(poolId, 'this is not json');
    await send(poolId, JSON.stringify({ ...taskMessage('true'), v: 2 }));
    const good = taskMessage('true');
    await send(poolId, good);
    await completion(good.taskId);
    const reported = await waitFor(() => {
      const all = controlPlane.heartbeats.flatMap((h) => h.body.poisoned ?? []);
      return all.length >= 2 ? all : undefined;
    }, 'poison reports');
    expect(reported).toHaveLength(2);
    expect(reported.every((p) => p.queue === poolQueueName(poolId, 'normal'))).toBe(true);
    expect(reported.map((p) => p.reason)).toEqual(['body is not JSON', expect.stringContaining('version')]);
    const poison = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient(poisonQueueName(poolQueueName(poolId, 'normal')));
    const bodies = (await poison.peekMessages({ numberOfMessages: 32 })).peekedMessageItems.map((m) => m.messageText);
    expect(bodies).toHaveLength(2);
    expect(bodies).toContain('this is not json');
    expect((await queueClient(poolId).getProperties()).approximateMessagesCount).toBe(0);
    // Reported once, not in every heartbeat.
    await delay(600);
    expect(controlPlane.heartbeats.flatMap((h) => h.body.poisoned ?? [])).toHaveLength(2);
  });
});

describe('task output', () => {
  it('appends output to blobs while the task runs, readable by range', async () => {
    const { poolId } = await setUp({}, { outputFlushMs: 200 });
    const task = taskMessage(`/bin/sh -c "echo first-line; sleep 3; echo second-line"`);
    await send(poolId, task);
    // Tail the blob while the task is still running.
    const firstSeenWhileRunning = await waitFor(async () => {
      const text = await blobText(task.jobId, task.taskId, 'stdout.txt').catch(() => '');
      return text.includes('first-line') ? text : undefined;
    }, 'first line in the blob', 10_000);
    expect(firstSeenWhileRunning).toBe('first-line\n');
    expect(controlPlane.completionOf(task.taskId)).toBeUndefined();
    await completion(task.taskId);
    const blob = BlobServiceClient.fromConnectionString(azurite.connectionString)
      .getContainerClient(TASK_OUTPUT_CONTAINER)
      .getBlobClient(taskOutputBlobName(task.jobId, task.taskId, 'stdout.txt'));
    expect((await blob.downloadToBuffer()).toString()).toBe('first-line\nsecond-line\n');
    expect((await blob.getProperties()).blobType).toBe('AppendBlob');
    const range = await blob.download(11, 6);
    expect(range.contentLength).toBe(6);
    expect(await streamText(range.readableStreamBody!)).toBe('second');
  });
});

describe('start task', () => {
  it('runs the start task before taking work and reports its success', async () => {
    controlPlane = await ControlPlaneDouble.start();
    const poolId = uniquePoolId();
    const task = taskMessage(`/bin/sh -c "cat \\$AZ_BATCH_NODE_ROOT_DIR/startup/wd/marker"`);
    await send(poolId, task);
    const started = await startTestAgent(controlPlane, azurite.connectionString, poolId, {
      startTask: { commandLine: `/bin/sh -c "sleep 1; echo \\$GREETING > marker"`, environmentSettings: [{ name: 'GREETING', value: 'ready' }], waitForSuccess: true },
    });
    running.push(started);
    await waitFor(() => controlPlane.heartbeats.find((h) => h.body.state === 'waitingforstarttask'), 'waitingforstarttask heartbeat');
    await completion(task.taskId);
    expect(controlPlane.startTasks.map((s) => s.body)).toEqual([{ poolId, nodeId: started.config.nodeId, succeeded: true, exitCode: 0 }]);
    expect(controlPlane.startTasks[0]!.at).toBeLessThanOrEqual(controlPlane.claims[0]!.at);
    expect(await blobText(task.jobId, task.taskId, 'stdout.txt')).toBe('ready\n');
  });

  it('takes no work when a start task it must wait for fails', async () => {
    controlPlane = await ControlPlaneDouble.start();
    const poolId = uniquePoolId();
    await send(poolId, taskMessage('true'));
    running.push(
      await startTestAgent(controlPlane, azurite.connectionString, poolId, {
        startTask: { commandLine: `/bin/sh -c "exit 7"`, environmentSettings: [], waitForSuccess: true },
      }),
    );
    await waitFor(() => controlPlane.heartbeats.find((h) => h.body.state === 'starttaskfailed'), 'starttaskfailed heartbeat');
    expect(controlPlane.startTasks.map((s) => s.body)).toEqual([expect.objectContaining({ succeeded: false, exitCode: 7 })]);
    await delay(1500);
    expect(controlPlane.claims).toEqual([]);
    expect((await queueClient(poolId).peekMessages()).peekedMessageItems).toHaveLength(1);
  });
});

describe('leaving the pool', () => {
  it('stops taking work on drain but finishes what it runs', async () => {
    const { poolId } = await setUp();
    const first = taskMessage('sleep 1');
    await send(poolId, first);
    await waitFor(() => controlPlane.claims.length === 1, 'first claim');
    controlPlane.setDrain(true);
    await waitFor(() => controlPlane.heartbeats.find((h) => h.body.state === 'leavingpool'), 'draining heartbeat');
    await send(poolId, taskMessage('true'));
    expect((await completion(first.taskId)).exitCode).toBe(0);
    await delay(1500);
    expect(controlPlane.claims).toHaveLength(1);
  });

  it('on shutdown gives back what it holds and exits', async () => {
    const { poolId, exit } = await setUp({ taskSlots: 2 });
    const task = taskMessage('sleep 60');
    await send(poolId, task);
    await waitFor(() => controlPlane.claims.length === 1, 'claim');
    controlPlane.setShutdown(true);
    expect(await exit).toBe('shutdown');
    expect(controlPlane.releases.map((r) => r.body)).toEqual([expect.objectContaining({ taskId: task.taskId, dispatchId: task.dispatchId })]);
    expect(controlPlane.completionOf(task.taskId)).toBeUndefined();
    // The message is visible again at once, for another node.
    const [message] = (await queueClient(poolId).receiveMessages({ visibilityTimeout: 1 })).receivedMessageItems;
    expect(JSON.parse(message!.messageText).dispatchId).toBe(task.dispatchId);
    // No work signal offered: nobody to tell.
    expect(controlPlane.workReturnedCalls).toEqual([]);
  });

  it('where the work signal is offered, tells the control plane of the messages it gave back once they are visible', async () => {
    const { poolId, config, exit } = await setUp({ taskSlots: 2 });
    controlPlane.offerWorkSignal = true;
    await waitFor(() => (controlPlane.heldWorkSignals > 0 ? true : undefined), 'a work-signal request held');
    const task = taskMessage('sleep 60');
    await send(poolId, task);
    controlPlane.signalWork();
    await waitFor(() => controlPlane.claims.length === 1, 'claim');
    // What a woken peer would find at the moment the notice arrives.
    const visibleAtNotice: number[] = [];
    controlPlane.onWorkReturned = async () => {
      visibleAtNotice.push((await queueClient(poolId).peekMessages()).peekedMessageItems.length);
    };
    controlPlane.setShutdown(true);
    expect(await exit).toBe('shutdown');
    expect(controlPlane.releases).toHaveLength(1);
    expect(controlPlane.workReturnedCalls.map((c) => c.body)).toEqual([{ poolId, nodeId: config.nodeId }]);
    expect(visibleAtNotice).toEqual([1]);
  });
});

async function streamText(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}
