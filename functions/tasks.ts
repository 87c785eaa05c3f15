// Batch's task API: add one, add a collection, list, get, terminate, reactivate, output files.
import { app } from '@azure/functions';
import { LIMITS } from '../shared/batch/index.js';
import { taskOutputBlobName } from '../shared/agent-protocol.js';
import { taskResource } from '../shared/app/representation.js';
import {
  addTask,
  addTaskCollection,
  FileNotFoundError,
  getTask,
  listTasks,
  reactivateTask,
  TASK_FILES,
  terminateTask,
} from '../shared/app/task-service.js';
import { api, durableClientInput, MB, readJson } from './http-kit.js';
import { parseRange, RangeNotSatisfiable } from './range.js';

const extraInputs = [durableClientInput];

app.http('tasksAdd', {
  route: 'jobs/{jobId}/tasks',
  methods: ['POST'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    const { body } = await readJson(request, MB);
    const task = await addTask(s, request.params.jobId!, body);
    const url = `${s.baseUrl}/jobs/${encodeURIComponent(request.params.jobId!)}/tasks/${encodeURIComponent(task.item.taskId)}`;
    return { status: 201, headers: { Location: url, ETag: task.etag, DataServiceId: url } };
  }),
});

app.http('tasksAddCollection', {
  route: 'jobs/{jobId}/addtaskcollection',
  methods: ['POST'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    const { body, bytes } = await readJson(request, LIMITS.maxCollectionBodyBytes);
    return { status: 200, jsonBody: { value: await addTaskCollection(s, request.params.jobId!, body, bytes) } };
  }),
});

app.http('tasksList', {
  route: 'jobs/{jobId}/tasks',
  methods: ['GET'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => ({
    jsonBody: await listTasks(s, request.params.jobId!, {
      filter: request.query.get('$filter'),
      select: request.query.get('$select'),
      maxResults: request.query.get('maxresults'),
      skipToken: request.query.get('$skiptoken'),
    }),
  })),
});

app.http('tasksGet', {
  route: 'jobs/{jobId}/tasks/{taskId}',
  methods: ['GET'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    const task = await getTask(s, request.params.jobId!, request.params.taskId!);
    return { headers: { ETag: task.etag }, jsonBody: taskResource(s.baseUrl, request.params.jobId!, task) };
  }),
});

app.http('tasksTerminate', {
  route: 'jobs/{jobId}/tasks/{taskId}/terminate',
  methods: ['POST'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    await terminateTask(s, request.params.jobId!, request.params.taskId!);
    return { status: 204 };
  }),
});

app.http('tasksReactivate', {
  route: 'jobs/{jobId}/tasks/{taskId}/reactivate',
  methods: ['POST'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    await reactivateTask(s, request.params.jobId!, request.params.taskId!);
    return { status: 204 };
  }),
});

app.http('tasksFile', {
  route: 'jobs/{jobId}/tasks/{taskId}/files/{fileName}',
  methods: ['GET'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    const fileName = request.params.fileName!;
    const task = await getTask(s, request.params.jobId!, request.params.taskId!);
    if (!(TASK_FILES as readonly string[]).includes(fileName)) throw new FileNotFoundError(fileName);
    const container = await s.ctx.outputs();
    const blob = container.getBlobClient(taskOutputBlobName(request.params.jobId!, task.item.taskId, fileName as (typeof TASK_FILES)[number]));
    let size: number;
    try {
      size = (await blob.getProperties()).contentLength ?? 0;
    } catch {
      // Agents create an output blob only once the task writes to it: a started task that wrote
      // nothing has an empty file, as on Batch.
      if (!task.item.executionInfo.startTime) throw new FileNotFoundError(fileName);
      size = 0;
    }
    const headers = { 'Content-Type': 'text/plain; charset=utf-8', 'Accept-Ranges': 'bytes' };
    const range = request.headers.get('range');
    let slice: { start: number; end: number } | undefined;
    try {
      slice = range ? parseRange(range, size) : undefined;
    } catch (err) {
      if (err instanceof RangeNotSatisfiable) return { status: 416, headers: { 'Content-Range': `bytes */${size}` } };
      throw err;
    }
    if (size === 0) return { status: 200, headers, body: '' };
    const start = slice?.start ?? 0;
    const end = slice?.end ?? size - 1;
    const content = await blob.downloadToBuffer(start, end - start + 1);
    return slice
      ? { status: 206, headers: { ...headers, 'Content-Range': `bytes ${start}-${end}/${size}` }, body: content }
      : { status: 200, headers, body: content };
  }),
});
