// Shared pieces of the agent tests: task messages, queue access, waiting, process probes.
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { QueueServiceClient } from '@azure/storage-queue';
import { PROTOCOL_VERSION, poolQueueName, type PriorityBand, type TaskMessage } from '../../../shared/agent-protocol.js';

let counter = 0;

export function taskMessage(commandLine: string, fields: Partial<TaskMessage> = {}): TaskMessage {
  counter++;
  return {
    v: PROTOCOL_VERSION,
    jobId: 'job-1',
    taskId: `task-${counter}`,
    dispatchId: randomUUID(),
    retryCount: 0,
    commandLine,
    environment: [],
    requiredSlots: 1,
    enqueuedAt: new Date().toISOString(),
    ...fields,
  };
}

export function uniquePoolId(): string {
  return `pool-${randomUUID().slice(0, 8)}`;
}

export async function enqueue(connectionString: string, poolId: string, message: TaskMessage | string, band: PriorityBand = 'normal'): Promise<void> {
  const queue = QueueServiceClient.fromConnectionString(connectionString).getQueueClient(poolQueueName(poolId, band));
  await queue.createIfNotExists();
  await queue.sendMessage(typeof message === 'string' ? message : JSON.stringify(message));
}

export async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a process exists and is not a zombie (the container's init may not reap orphans). */
export function isProcessAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The session a process belongs to (field 6 of /proc/PID/stat). */
export function sessionOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses; the fields after it do not.
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
}

/** Pids of live agent processes started for this node id (found through /proc, as ps would). */
export function agentPids(nodeId: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmdline.includes('agent') && environ.includes(`FNBATCH_NODE_ID=${nodeId}`) && isProcessAlive(Number(entry))) pids.push(Number(entry));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return pids;
}
