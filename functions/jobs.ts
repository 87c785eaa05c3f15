// Batch's job API: add, list, get, update, terminate, delete, task counts.
import { app } from '@azure/functions';
import { parseJobFilter, parseSelect, JOB_SELECTABLE_PROPERTIES } from '../shared/batch/index.js';
import { createJob, deleteJob, getJob, listJobs, patchJob, taskCounts, terminateJob } from '../shared/app/job-service.js';
import { jobResource } from '../shared/app/representation.js';
import { api, durableClientInput, MB, readJson, readOptionalJson } from './http-kit.js';

const extraInputs = [durableClientInput];

app.http('jobsAdd', {
  route: 'jobs',
  methods: ['POST'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    const { body } = await readJson(request, 64 * MB);
    const job = await createJob(s, body);
    const url = `${s.baseUrl}/jobs/${encodeURIComponent(job.item.jobId)}`;
    return { status: 201, headers: { Location: url, ETag: job.etag, DataServiceId: url, 'Last-Modified': job.item.lastModified } };
  }),
});

app.http('jobsList', {
  route: 'jobs',
  methods: ['GET'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    const filter = request.query.get('$filter');
    const select = request.query.get('$select');
    const predicate = filter ? parseJobFilter(filter) : () => true;
    const projection = select ? parseSelect(select, JOB_SELECTABLE_PROPERTIES) : undefined;
    const jobs = (await listJobs(s)).map((j) => jobResource(s.baseUrl, j)).filter((j) => predicate(j as never));
    return { jsonBody: { value: projection ? jobs.map((j) => projection.project(j)) : jobs } };
  }),
});

app.http('jobsGet', {
  route: 'jobs/{jobId}',
  methods: ['GET'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    const job = await getJob(s, request.params.jobId!);
    return { headers: { ETag: job.etag, 'Last-Modified': job.item.lastModified }, jsonBody: jobResource(s.baseUrl, job) };
  }),
});

app.http('jobsPatch', {
  route: 'jobs/{jobId}',
  methods: ['PATCH'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    const { body } = await readJson(request, MB);
    const job = await patchJob(s, request.params.jobId!, body, request.headers.get('if-match') ?? undefined);
    return { status: 200, headers: { ETag: job.etag, 'Last-Modified': job.item.lastModified } };
  }),
});

app.http('jobsTerminate', {
  route: 'jobs/{jobId}/terminate',
  methods: ['POST'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    const body = (await readOptionalJson(request, MB)) as { terminateReason?: unknown } | undefined;
    const reason = typeof body?.terminateReason === 'string' && body.terminateReason ? body.terminateReason : 'UserTerminate';
    await terminateJob(s, request.params.jobId!, reason);
    return { status: 202 };
  }),
});

app.http('jobsDelete', {
  route: 'jobs/{jobId}',
  methods: ['DELETE'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    await deleteJob(s, request.params.jobId!);
    return { status: 202 };
  }),
});

app.http('jobsTaskCounts', {
  route: 'jobs/{jobId}/taskcounts',
  methods: ['GET'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => ({ jsonBody: { taskCounts: await taskCounts(s, request.params.jobId!) } })),
});
