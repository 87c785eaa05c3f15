// A job's ready tasks go to its pool longest chain of dependents first: with more ready tasks
// than the dispatch window holds, the head of a long chain submitted last goes out with the first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJob } from '../../shared/app/job-service.js';
import { jobInstanceId } from '../../shared/app/documents.js';
import { createPool, startInProcessJobs, type InProcessJobs } from '../support/in-process-jobs.js';
import { waitFor } from '../agent/support/fixtures.js';

let jobs: InProcessJobs;

beforeAll(async () => {
  jobs = await startInProcessJobs();
});
afterAll(async () => jobs?.stop());

describe('dispatch order', () => {
  it('sends the head of the longest chain before short tasks submitted ahead of it', async () => {
    await createPool(jobs.ctx, { id: 'p', vmSize: 'Standard_D2s_v5', targetDedicatedNodes: 1, taskSlotsPerNode: 1 });
    const tasks: unknown[] = [];
    for (let i = 0; i < 100; i++) tasks.push({ id: `s${i}`, commandLine: '/bin/true' });
    tasks.push({ id: 'mid', commandLine: '/bin/true' }, { id: 'mid-after', commandLine: '/bin/true', dependsOn: { taskIds: ['mid'] } });
    tasks.push({ id: 'c0', commandLine: '/bin/true' });
    for (let i = 1; i <= 3; i++) tasks.push({ id: `c${i}`, commandLine: '/bin/true', dependsOn: { taskIds: [`c${i - 1}`] } });
    await createJob(jobs.services, { id: 'j', poolInfo: { poolId: 'p' }, usesTaskDependencies: true, onAllTasksComplete: 'terminatejob', tasks });

    // No worker runs yet: the first dispatch fills the window (64 for a one-slot pool) and stops.
    const queued = async (): Promise<string[]> => (await jobs.ctx.tasks.queryAll()).items.filter((t) => t.item.scheduling === 'queued').map((t) => t.item.taskId);
    await waitFor(async () => (await queued()).length === 64, 'the first dispatch');
    const first = await queued();
    expect(first).toContain('c0');
    expect(first).toContain('mid');
    expect(first.filter((id) => id.startsWith('s'))).toHaveLength(62);

    jobs.startWorkers('p', 1, 1);
    const status = await jobs.backend.waitFor(jobInstanceId('j'), undefined, 120_000);
    expect(status.runtimeStatus).toBe('Completed');
    const all = (await jobs.ctx.tasks.queryAll()).items.map((t) => t.item);
    expect(all.filter((t) => t.executionInfo.result !== 'success')).toEqual([]);
  }, 180_000);
});
