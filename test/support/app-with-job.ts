// The app's context over the memory store and a given queue, holding pool `p` (one node of one
// slot) and job `j` with one `/bin/true` task per id, none of them dispatched yet: the starting
// point of tests that drive the task lifecycle's functions directly.
import type { Clock } from '../../local-host/contracts.js';
import { MemoryDocumentStore } from '../../shared/adapters/memory-document-store.js';
import { appContext, setAppContext, type AppContext } from '../../shared/app/context.js';
import { toJobDoc, toTaskDoc } from '../../shared/app/documents.js';
import { newStoredJob, newStoredTask, validateJobSubmission } from '../../shared/batch/index.js';
import type { WorkQueue } from '../../shared/ports/work-queue.js';

export async function appWithJob(queue: WorkQueue, clock: Clock, taskIds: readonly string[]): Promise<AppContext> {
  setAppContext({ store: new MemoryDocumentStore(), queueFactory: async () => queue, now: () => clock.now() });
  const ctx = await appContext();
  const at = new Date(clock.now()).toISOString();
  const { job, tasks } = validateJobSubmission({ id: 'j', poolInfo: { poolId: 'p' }, tasks: taskIds.map((id) => ({ id, commandLine: '/bin/true' })) });
  await ctx.pools.create({ id: 'p', poolId: 'p', state: 'active', taskSlotsPerNode: 1, targetDedicatedNodes: 1, targetLowPriorityNodes: 0, currentDedicatedNodes: 1, currentLowPriorityNodes: 0 } as never);
  await ctx.jobs.create(toJobDoc(newStoredJob(job, at)));
  for (const task of tasks) await ctx.tasks.create(toTaskDoc('j', newStoredTask(task, at)));
  return ctx;
}
