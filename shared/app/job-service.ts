// Jobs: submission (a whole DAG at once, all or nothing), reads, updates, termination, deletion.
import {
  BatchError,
  conditionNotMet,
  invalidPropertyValue,
  jobExists,
  jobNotFound,
  newStoredJob,
  newStoredTask,
  ON_ALL_TASKS_COMPLETE,
  poolNotFound,
  stateConflict,
  validateJobSubmissionInSteps,
  type OnAllTasksComplete,
  type TaskSpec,
} from '../batch/index.js';
import { isStoreError } from '../ports/errors.js';
import { CREATE_MANY_BATCH, type Stored } from '../ports/document-store.js';
import { runGivingWay } from '../give-way.js';
import { forEachInOrder } from '../in-order.js';
import type { AppContext } from './context.js';
import { jobInstanceId, jobKey, poolKey, toJobDoc, toTaskDoc, type JobDoc, type TaskDoc } from './documents.js';
import { updateWithRetry } from './etag-retry.js';
import { jobMovedTo } from './transitions.js';
import { JOB_ORCHESTRATOR, type JobOrchestrations } from './job-events.js';
import { requestKillsForJob } from './kill-requests.js';
import { requestAutoScaleSoon } from './autoscale-service.js';

export interface Services {
  ctx: AppContext;
  orchestrations: JobOrchestrations;
}

/** A submission whose writer died is taken over after this long. */
const ABANDONED_SUBMISSION_MS = 60_000;
/** Store calls of a submission's writes out at once. */
const WRITE_CONCURRENCY = 8;

export async function createJob(s: Services, body: unknown): Promise<Stored<JobDoc>> {
  // A job of 100,000 tasks takes a few hundred ms to validate: others' requests go on meanwhile.
  const { job, tasks } = await runGivingWay(validateJobSubmissionInSteps(body));
  const pool = await s.ctx.pools.read(poolKey(job.poolInfo.poolId), poolKey(job.poolInfo.poolId));
  if (!pool || pool.item.state === 'deleting') throw poolNotFound(job.poolInfo.poolId, 'poolInfo.poolId');
  checkSlots(tasks, pool.item.taskSlotsPerNode, 'tasks');

  const now = s.ctx.now();
  const at = new Date(now).toISOString();
  const key = jobKey(job.id);
  await takeOverAbandoned(s, key, now);
  const doc: JobDoc = { ...toJobDoc(newStoredJob(job, at)), provisioning: { since: now } };
  let created: Stored<JobDoc>;
  try {
    created = await s.ctx.jobs.create(doc);
  } catch (err) {
    if (isStoreError(err, 'Conflict')) throw jobExists(job.id);
    throw err;
  }
  try {
    await writeNewTasks(s, job.id, tasks, at);
    await s.orchestrations.start(doc.instanceId, { jobId: job.id, generation: 0 });
    const { provisioning: _done, ...visible } = created.item;
    const submitted = await s.ctx.jobs.replace(visible, { ifMatch: created.etag });
    requestAutoScaleSoon(s.ctx, job.poolInfo.poolId);
    return submitted;
  } catch (err) {
    await removeJobDocuments(s, key).catch(() => {});
    throw err;
  }
}

export function checkSlots(tasks: readonly TaskSpec[], slotsPerNode: number, path: string, offset = 0): void {
  tasks.forEach((task, i) => {
    if (task.requiredSlots > slotsPerNode) {
      throw invalidPropertyValue(
        `${path}[${i + offset}].requiredSlots`,
        task.requiredSlots,
        `The task needs ${task.requiredSlots} slots but the pool's nodes have ${slotsPerNode} (taskSlotsPerNode).`,
      );
    }
  });
}

async function takeOverAbandoned(s: Services, key: string, now: number): Promise<void> {
  const existing = await s.ctx.jobs.read(key, key);
  if (!existing) return;
  const since = existing.item.provisioning?.since;
  if (since === undefined || now - since < ABANDONED_SUBMISSION_MS) throw jobExists(existing.item.jobId);
  await removeJobDocuments(s, key);
}

/**
 * Stores newly accepted tasks of a job, accepted at `at`: a batch per store call (one Cosmos DB
 * transactional batch, one journal write in the local store), a few calls at once, each batch's
 * documents made only when it is written. On a failure, rejects only after every write already
 * started has settled, so a clean-up after it sees them all.
 */
export async function writeNewTasks(s: Services, jobId: string, specs: readonly TaskSpec[], at: string): Promise<Stored<TaskDoc>[]> {
  const batches: (readonly TaskSpec[])[] = [];
  for (let i = 0; i < specs.length; i += CREATE_MANY_BATCH) batches.push(specs.slice(i, i + CREATE_MANY_BATCH));
  const written: Stored<TaskDoc>[] = [];
  await forEachInOrder(batches, WRITE_CONCURRENCY, async (batch, i) => {
    const stored = await s.ctx.tasks.createMany(batch.map((spec) => toTaskDoc(jobId, newStoredTask(spec, at))));
    for (let k = 0; k < stored.length; k++) written[i * CREATE_MANY_BATCH + k] = stored[k]!;
  });
  return written;
}

async function removeJobDocuments(s: Services, key: string): Promise<void> {
  for (let page = await s.ctx.tasks.query(key, { limit: 500 }); ; ) {
    await Promise.all(page.items.map((t) => s.ctx.tasks.delete(t.item.id, key).catch(ignoreNotFound)));
    if (!page.continuation) break;
    page = await s.ctx.tasks.query(key, { limit: 500, continuation: page.continuation });
  }
  await s.ctx.jobs.delete(key, key).catch(ignoreNotFound);
}

function ignoreNotFound(err: unknown): void {
  if (!isStoreError(err, 'NotFound')) throw err;
}

/** The job as the API shows it; submissions still being written do not exist yet. */
export async function getJob(s: Services, jobId: string): Promise<Stored<JobDoc>> {
  const key = jobKey(jobId);
  const job = await s.ctx.jobs.read(key, key);
  if (!job || job.item.provisioning) throw jobNotFound(jobId);
  return job;
}

export async function listJobs(s: Services): Promise<Stored<JobDoc>[]> {
  const all: Stored<JobDoc>[] = [];
  let continuation: string | undefined;
  do {
    const page = await s.ctx.jobs.queryAll({ limit: 500, continuation });
    all.push(...page.items.filter((j) => !j.item.provisioning));
    continuation = page.continuation;
  } while (continuation);
  return all;
}

/** PATCH /jobs/{id}: onAllTasksComplete, priority, maxParallelTasks, guarded by If-Match. */
export async function patchJob(s: Services, jobId: string, body: unknown, ifMatch?: string): Promise<Stored<JobDoc>> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new BatchError(400, 'InvalidRequestBody', 'The request body must be a JSON object.');
  }
  const patch = body as Record<string, unknown>;
  const changes: { onAllTasksComplete?: OnAllTasksComplete; priority?: number; maxParallelTasks?: number } = {};
  if (patch.onAllTasksComplete !== undefined) {
    // Only a string is read: String() of an object whose toString is not a function throws.
    const value = typeof patch.onAllTasksComplete === 'string' ? patch.onAllTasksComplete.toLowerCase() : undefined;
    if (value === undefined || !(ON_ALL_TASKS_COMPLETE as readonly string[]).includes(value)) {
      throw invalidPropertyValue('onAllTasksComplete', patch.onAllTasksComplete, `must be one of ${ON_ALL_TASKS_COMPLETE.join(', ')}`);
    }
    changes.onAllTasksComplete = value as OnAllTasksComplete;
  }
  if (patch.priority !== undefined) {
    if (!Number.isInteger(patch.priority) || (patch.priority as number) < -1000 || (patch.priority as number) > 1000) {
      throw invalidPropertyValue('priority', patch.priority, 'must be an integer from -1000 to 1000');
    }
    changes.priority = patch.priority as number;
  }
  if (patch.maxParallelTasks !== undefined) {
    const v = patch.maxParallelTasks;
    if (!Number.isInteger(v) || ((v as number) < 1 && v !== -1)) {
      throw invalidPropertyValue('maxParallelTasks', v, 'must be -1 (unlimited) or an integer of at least 1');
    }
    changes.maxParallelTasks = v as number;
  }
  const current = await getJob(s, jobId);
  if (ifMatch && ifMatch !== current.etag) throw conditionNotMet('The job has changed since the ETag given in If-Match.');
  if (current.item.state === 'completed' || current.item.state === 'deleting' || current.item.state === 'terminating') {
    throw stateConflict('JobNotActive', `The job is ${current.item.state} and cannot be changed.`, 'The job is not active');
  }
  let updated: Stored<JobDoc>;
  try {
    updated = await s.ctx.jobs.replace(
      { ...current.item, ...changes, lastModified: new Date(s.ctx.now()).toISOString() },
      { ifMatch: current.etag },
    );
  } catch (err) {
    if (isStoreError(err, 'PreconditionFailed')) throw conditionNotMet('The job changed while it was being updated; read it again.');
    throw err;
  }
  if (Object.keys(changes).length) await s.orchestrations.raise(current.item.instanceId, { type: 'update', ...changes });
  return updated;
}

/**
 * Terminate is a cancellation of in-flight work: the job goes `terminating`, kill requests reach
 * the nodes running its tasks in their next heartbeat, and the job's orchestration completes the
 * remaining tasks and the job.
 */
export async function terminateJob(s: Services, jobId: string, reason = 'UserTerminate'): Promise<void> {
  const key = jobKey(jobId);
  const at = new Date(s.ctx.now()).toISOString();
  let instanceId = '';
  const result = await updateWithRetry(s.ctx.jobs, key, key, ({ item }) => {
    if (item.provisioning) throw jobNotFound(jobId);
    instanceId = item.instanceId;
    if (item.state === 'completed' || item.state === 'terminating' || item.state === 'deleting') {
      throw stateConflict('JobCompleted', `The job is already ${item.state}.`, 'The job is not active');
    }
    return {
      ...jobMovedTo(item, 'terminating', at),
      executionInfo: { ...item.executionInfo, terminateReason: reason },
    };
  });
  if (!result) throw jobNotFound(jobId);
  await requestKillsForJob(s.ctx, key);
  await s.orchestrations.raise(instanceId, { type: 'terminate', reason });
}

export async function deleteJob(s: Services, jobId: string): Promise<void> {
  const job = await getJob(s, jobId);
  const key = job.item.id;
  await updateWithRetry(s.ctx.jobs, key, key, ({ item }) => ({ ...item, state: 'deleting' as const, stateTransitionTime: new Date(s.ctx.now()).toISOString() }));
  await requestKillsForJob(s.ctx, key);
  await s.orchestrations.terminate(job.item.instanceId, 'Job deleted');
  await removeJobDocuments(s, key);
}

export interface TaskCounts {
  active: number;
  running: number;
  completed: number;
  succeeded: number;
  failed: number;
}

export async function taskCounts(s: Services, jobId: string): Promise<TaskCounts> {
  const job = await getJob(s, jobId);
  const counts: TaskCounts = { active: 0, running: 0, completed: 0, succeeded: 0, failed: 0 };
  let continuation: string | undefined;
  do {
    const page = await s.ctx.tasks.query(job.item.id, { limit: 1000, continuation });
    for (const { item } of page.items) {
      if (item.state === 'active') counts.active++;
      else if (item.state === 'running' || item.state === 'preparing') counts.running++;
      else {
        counts.completed++;
        if (item.executionInfo.result === 'success') counts.succeeded++;
        else counts.failed++;
      }
    }
    continuation = page.continuation;
  } while (continuation);
  return counts;
}

export { jobInstanceId, JOB_ORCHESTRATOR };
