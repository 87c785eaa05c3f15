// Tasks: adding them to a job (one, or a collection with per-task results), listing with
// $filter/$select and paging, terminating, reactivating, and reading their output files.
import {
  BatchError,
  invalidQueryParameterValue,
  newStoredTask,
  parseSelect,
  parseTaskFilter,
  resolveExitOptions,
  stateConflict,
  TASK_SELECTABLE_PROPERTIES,
  taskExists,
  taskNotFound,
  validateTask,
  validateTaskCollectionPerTask,
  type ExistingTaskIds,
  type TaskAddResult,
  type TaskSpec,
} from '../batch/index.js';
import { isStoreError } from '../ports/errors.js';
import type { Stored } from '../ports/document-store.js';
import { jobKey, poolKey, taskKey, toTaskDoc, type JobDoc, type TaskDoc } from './documents.js';
import { defect } from './defects.js';
import { updateWithRetry } from './etag-retry.js';
import { taskEndedWithFailure, taskMovedTo } from './transitions.js';
import { checkSlots, getJob, writeNewTasks, type Services } from './job-service.js';
import { requestKill } from './kill-requests.js';
import { taskResource } from './representation.js';

async function existingTaskIds(s: Services, key: string): Promise<ExistingTaskIds> {
  const ids = new Set<string>();
  let continuation: string | undefined;
  do {
    const page = await s.ctx.tasks.query(key, { limit: 2000, continuation });
    for (const { item } of page.items) ids.add(item.id);
    continuation = page.continuation;
  } while (continuation);
  return { has: (id: string) => ids.has(taskKey(id)) };
}

async function activeJob(s: Services, jobId: string): Promise<Stored<JobDoc>> {
  const job = await getJob(s, jobId);
  if (job.item.state !== 'active' && job.item.state !== 'disabled') {
    throw stateConflict('JobNotActive', `Tasks cannot be added: the job is ${job.item.state}.`, 'The job is not active');
  }
  return job;
}

async function slotsPerNode(s: Services, job: JobDoc): Promise<number> {
  const pool = await s.ctx.pools.read(poolKey(job.poolInfo.poolId), poolKey(job.poolInfo.poolId));
  return pool?.item.taskSlotsPerNode ?? Number.MAX_SAFE_INTEGER;
}

export async function addTask(s: Services, jobId: string, body: unknown): Promise<Stored<TaskDoc>> {
  const job = await activeJob(s, jobId);
  const spec = validateTask(body, job.item, await existingTaskIds(s, job.item.id));
  checkSlots([spec], await slotsPerNode(s, job.item), 'task');
  const at = new Date(s.ctx.now()).toISOString();
  let stored: Stored<TaskDoc>;
  try {
    stored = await s.ctx.tasks.create(toTaskDoc(job.item.jobId, newStoredTask(spec, at)));
  } catch (err) {
    if (isStoreError(err, 'Conflict')) throw taskExists(spec.id);
    throw err;
  }
  await s.orchestrations.raise(job.item.instanceId, { type: 'tasksAdded', taskIds: [spec.id] });
  return stored;
}

export async function addTaskCollection(s: Services, jobId: string, body: unknown, bodyBytes: number): Promise<TaskAddResult[]> {
  const job = await activeJob(s, jobId);
  const { results, accepted } = validateTaskCollectionPerTask(body, job.item, await existingTaskIds(s, job.item.id), bodyBytes);
  const slots = await slotsPerNode(s, job.item);
  const fitting: TaskSpec[] = [];
  for (const spec of accepted) {
    try {
      checkSlots([spec], slots, 'task');
      fitting.push(spec);
    } catch (err) {
      const result = results.find((r) => r.taskId === spec.id)!;
      result.status = 'clienterror';
      result.error = (err as BatchError).body;
    }
  }
  const at = new Date(s.ctx.now()).toISOString();
  const written = await writeNewTasks(s, job.item.jobId, fitting, at);
  for (const stored of written) {
    const result = results.find((r) => r.taskId === stored.item.taskId);
    if (result) result.eTag = stored.etag;
  }
  if (written.length) {
    await s.orchestrations.raise(job.item.instanceId, { type: 'tasksAdded', taskIds: written.map((w) => w.item.taskId) });
  }
  return results;
}

export async function getTask(s: Services, jobId: string, taskId: string): Promise<Stored<TaskDoc>> {
  const job = await getJob(s, jobId);
  const task = await s.ctx.tasks.read(taskKey(taskId), job.item.id);
  if (!task) throw taskNotFound(taskId);
  return task;
}

export interface TaskPage {
  value: Record<string, unknown>[];
  'odata.nextLink'?: string;
}

export async function listTasks(
  s: Services & { baseUrl: string },
  jobId: string,
  query: { filter?: string | null; select?: string | null; maxResults?: string | null; skipToken?: string | null },
): Promise<TaskPage> {
  const job = await getJob(s, jobId);
  const predicate = query.filter ? parseTaskFilter(query.filter) : () => true;
  const projection = query.select ? parseSelect(query.select, TASK_SELECTABLE_PROPERTIES) : undefined;
  let limit = 1000;
  if (query.maxResults) {
    const n = Number(query.maxResults);
    if (!Number.isInteger(n) || n < 1 || n > 1000) throw invalidQueryParameterValue('maxresults', query.maxResults, 'must be an integer from 1 to 1000');
    limit = n;
  }
  let page;
  try {
    page = await s.ctx.tasks.query(job.item.id, { limit, continuation: query.skipToken ?? undefined });
  } catch (err) {
    if (query.skipToken) throw invalidQueryParameterValue('$skiptoken', query.skipToken, 'is not a token this service issued');
    throw err;
  }
  const value = page.items
    .map((t) => taskResource(s.baseUrl, job.item.jobId, t))
    .filter((t) => predicate(t as never))
    .map((t) => (projection ? projection.project(t) : t));
  const result: TaskPage = { value };
  if (page.continuation) {
    const next = new URL(`${s.baseUrl}/jobs/${encodeURIComponent(job.item.jobId)}/tasks`);
    if (query.filter) next.searchParams.set('$filter', query.filter);
    if (query.select) next.searchParams.set('$select', query.select);
    if (query.maxResults) next.searchParams.set('maxresults', query.maxResults);
    next.searchParams.set('$skiptoken', page.continuation);
    result['odata.nextLink'] = next.href;
  }
  return result;
}

/** Ends a task now: completed with failure; a running one is killed on its node within a second. */
export async function terminateTask(s: Services, jobId: string, taskId: string): Promise<void> {
  const job = await getJob(s, jobId);
  const at = new Date(s.ctx.now()).toISOString();
  let ended: { dependencyAction: 'satisfy' | 'block' } | undefined;
  let killed: TaskDoc | undefined;
  const result = await updateWithRetry(s.ctx.tasks, taskKey(taskId), job.item.id, ({ item }) => {
    if (item.state === 'completed') throw stateConflict('TaskCompleted', 'The task has already completed.', 'The task is completed');
    const exit = resolveExitOptions(item.exitConditions, { kind: 'preProcessingError' });
    ended = { dependencyAction: exit.dependencyAction };
    killed = item;
    return taskEndedWithFailure(
      item,
      at,
      { category: 'usererror', code: 'TaskEnded', message: 'The task was terminated by a request to terminate it.' },
      exit.dependencyAction,
    );
  });
  if (!result) throw taskNotFound(taskId);
  if (killed) await requestKill(s.ctx, killed);
  if (!defect('terminate-task-silent')) await s.orchestrations.raise(job.item.instanceId, {
    type: 'tasksEnded',
    ends: [{ taskId: result.before.item.taskId, result: 'failure', dependencyAction: ended!.dependencyAction, jobAction: 'none' }],
  });
}

/**
 * Makes a failed task active again (retry count reset). Its dependents that had completed with
 * UpstreamTaskFailed because of it become active too, and the job's orchestration rebuilds.
 */
export async function reactivateTask(s: Services, jobId: string, taskId: string): Promise<void> {
  const job = await getJob(s, jobId);
  if (job.item.state !== 'active' && job.item.state !== 'disabled') {
    throw stateConflict('JobNotActive', `The job is ${job.item.state}; its tasks cannot be reactivated.`, 'The job is not active');
  }
  const at = new Date(s.ctx.now()).toISOString();
  const result = await updateWithRetry(s.ctx.tasks, taskKey(taskId), job.item.id, ({ item }) => {
    if (item.state !== 'completed') throw stateConflict('TaskNotCompleted', 'Only a completed task can be reactivated.', 'The task is not completed');
    if (item.executionInfo.result === 'success') throw stateConflict('TaskSucceeded', 'A task that succeeded cannot be reactivated.', 'The task succeeded');
    return reactivated(item, at);
  });
  if (!result) throw taskNotFound(taskId);
  await reactivateUpstreamFailures(s, job.item.id, result.before.item.taskId, at);
  await s.orchestrations.raise(job.item.instanceId, { type: 'reload' });
}

function reactivated(item: TaskDoc, at: string): TaskDoc {
  const { result: _r, failureInfo: _f, exitCode: _e, endTime: _t, ...info } = item.executionInfo;
  return {
    ...taskMovedTo(item, 'active', at),
    scheduling: 'waiting',
    dispatchId: undefined,
    dependencyAction: undefined,
    nodeInfo: undefined,
    executionInfo: { ...info, retryCount: 0 },
  };
}

async function reactivateUpstreamFailures(s: Services, key: string, rootTaskId: string, at: string): Promise<void> {
  let continuation: string | undefined;
  do {
    const page = await s.ctx.tasks.query(key, { limit: 1000, continuation });
    const victims = page.items.filter(({ item }) =>
      item.executionInfo.failureInfo?.code === 'UpstreamTaskFailed' &&
      item.executionInfo.failureInfo.details?.some((d) => d.name === 'RootTaskId' && d.value?.toLowerCase() === rootTaskId.toLowerCase()),
    );
    await Promise.all(
      victims.map(({ item }) =>
        updateWithRetry(s.ctx.tasks, item.id, key, ({ item: t }) => (t.state === 'completed' ? reactivated(t, at) : undefined)),
      ),
    );
    continuation = page.continuation;
  } while (continuation);
}

export const TASK_FILES = ['stdout.txt', 'stderr.txt'] as const;

export class FileNotFoundError extends BatchError {
  constructor(name: string) {
    super(404, 'FileNotFound', `The file '${name}' does not exist for this task.`, [{ key: 'FileName', value: name }]);
  }
}

export { jobKey };
