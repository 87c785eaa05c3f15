// A job of 100,000 tasks runs to its end: the job orchestration's state and replays do not grow
// with the job, so the whole DAG moves at the pace of its workers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJob } from '../../shared/app/job-service.js';
import { jobInstanceId, jobKey } from '../../shared/app/documents.js';
import { createPool, startInProcessJobs, type InProcessJobs } from '../support/in-process-jobs.js';

const MIDDLE = 99_998;
let jobs: InProcessJobs;

beforeAll(async () => {
  jobs = await startInProcessJobs();
});
afterAll(async () => jobs?.stop());

/** One start task, 99,998 tasks that depend on it, and one that depends on all of them through a range. */
function fanOutFanIn(): unknown {
  const tasks: unknown[] = [{ id: 'start', commandLine: '/bin/true' }];
  for (let i = 1; i <= MIDDLE; i++) tasks.push({ id: String(i), commandLine: '/bin/true', dependsOn: { taskIds: ['start'] } });
  tasks.push({ id: 'end', commandLine: '/bin/true', dependsOn: { taskIdRanges: [{ start: 1, end: MIDDLE }] } });
  return { id: 'big', poolInfo: { poolId: 'p' }, usesTaskDependencies: true, onAllTasksComplete: 'terminatejob', tasks };
}

describe('a 100,000-task job', () => {
  it('runs every task once, in dependency order, and completes', async () => {
    // The workers stand in for the pool's four nodes (nothing here starts agent processes).
    await createPool(jobs.ctx, { id: 'p', vmSize: 'Standard_D2s_v5', targetDedicatedNodes: 4, taskSlotsPerNode: 32 });
    const started = Date.now();
    await createJob(jobs.services, fanOutFanIn());
    jobs.startWorkers('p', 4, 32);
    const status = await jobs.backend.waitFor(jobInstanceId('big'), undefined, 30 * 60_000);
    const seconds = (Date.now() - started) / 1000;
    expect(status.runtimeStatus).toBe('Completed');

    const job = await jobs.ctx.jobs.read(jobKey('big'), jobKey('big'));
    expect(job!.item.state).toBe('completed');
    expect(job!.item.executionInfo.terminateReason).toBe('AllTasksComplete');
    const all = (await jobs.ctx.tasks.queryAll()).items.map((t) => t.item);
    expect(all).toHaveLength(MIDDLE + 2);
    const notSucceeded = all.filter((t) => t.state !== 'completed' || t.executionInfo.result !== 'success');
    expect(notSucceeded.map((t) => t.taskId).slice(0, 5)).toEqual([]);
    expect(all.filter((t) => t.executionInfo.retryCount + t.executionInfo.requeueCount > 0)).toHaveLength(0);
    const byId = new Map(all.map((t) => [t.taskId, t]));
    const startEnd = Date.parse(byId.get('start')!.executionInfo.endTime!);
    const middleEnds = all.filter((t) => t.taskId !== 'start' && t.taskId !== 'end').map((t) => Date.parse(t.executionInfo.endTime!));
    const middleStarts = all.filter((t) => t.taskId !== 'start' && t.taskId !== 'end').map((t) => Date.parse(t.executionInfo.startTime!));
    expect(Math.min(...middleStarts)).toBeGreaterThanOrEqual(startEnd);
    expect(Date.parse(byId.get('end')!.executionInfo.startTime!)).toBeGreaterThanOrEqual(Math.max(...middleEnds));
    console.log(`[large-job] ${MIDDLE + 2} tasks in ${seconds.toFixed(1)} s (${((MIDDLE + 2) / seconds).toFixed(0)} tasks/s through the control plane)`);
  }, 35 * 60_000);
});
