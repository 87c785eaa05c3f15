// The API the node agents call (see shared/agent-protocol.ts): claim a task before starting it,
// report its end (one at a time, or claims and ends gathered into one reports call), give it
// back, heartbeat, and wait for new work.
import { app } from '@azure/functions';
import type { HttpResponseInit, InvocationContext } from '@azure/functions';
import { invalidPropertyValue, missingRequiredProperty, type BatchErrorBody } from '../shared/batch/index.js';
import {
  AGENT_ROUTES,
  MAX_REPORTS_PER_CALL,
  type ClaimRequest,
  type CompleteRequest,
  type HeartbeatRequest,
  type ItemOutcome,
  type ReleaseRequest,
  type ReportsRequest,
  type ReportsResponse,
  type StartTaskReport,
  type WorkReturnedReport,
  type WorkSignalRequest,
} from '../shared/agent-protocol.js';
import { jobInstanceId } from '../shared/app/documents.js';
import type { TaskEnd } from '../shared/app/job-events.js';
import { awaitPoolWork, heartbeat, noteWorkReturned, reportStartTask } from '../shared/app/node-service.js';
import { claimTask, completeTask, releaseTask } from '../shared/app/task-lifecycle.js';
import { WORK_SIGNAL_MAX_WAIT_MS } from '../shared/app/work-signal.js';
import { api, durableClientInput, errorResponse, MB, readJson, type ApiServices } from './http-kit.js';

const extraInputs = [durableClientInput];

function requireStrings<T>(body: unknown, names: (keyof T & string)[]): T {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalidPropertyValue('body', body, 'must be a JSON object');
  const o = body as Record<string, unknown>;
  for (const name of names) {
    if (o[name] === undefined) throw missingRequiredProperty(name);
    if (typeof o[name] !== 'string' || !(o[name] as string)) throw invalidPropertyValue(name, o[name], 'must be a non-empty string');
  }
  return body as T;
}

const TASK_REF = ['poolId', 'nodeId', 'jobId', 'taskId', 'dispatchId'] as const;

function claimRequestOf(body: unknown): ClaimRequest {
  return requireStrings<ClaimRequest>(body, [...TASK_REF]);
}

function completeRequestOf(body: unknown): CompleteRequest {
  const req = requireStrings<CompleteRequest>(body, [...TASK_REF, 'startTime', 'endTime']);
  for (const time of ['startTime', 'endTime'] as const) {
    if (!Number.isFinite(Date.parse(req[time]))) throw invalidPropertyValue(time, req[time], 'must be a date and time (ISO 8601)');
  }
  if (req.exitCode !== null && req.exitCode !== undefined && !Number.isInteger(req.exitCode)) {
    throw invalidPropertyValue('exitCode', req.exitCode, 'must be an integer or null');
  }
  return req;
}

/** Tells each job's orchestration of its ends, one event per job. */
async function raiseEnds(s: ApiServices, ends: { jobId: string; end: TaskEnd }[]): Promise<void> {
  const byJob = new Map<string, TaskEnd[]>();
  for (const { jobId, end } of ends) {
    const jobEnds = byJob.get(jobId);
    if (jobEnds) jobEnds.push(end);
    else byJob.set(jobId, [end]);
  }
  await Promise.all([...byJob].map(([jobId, jobEnds]) => s.orchestrations.raise(jobInstanceId(jobId), { type: 'tasksEnded', ends: jobEnds })));
}

app.http('agentClaim', {
  route: AGENT_ROUTES.claim,
  methods: ['POST'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => ({ jsonBody: await claimTask(s.ctx, claimRequestOf((await readJson(request, MB)).body)) })),
});

app.http('agentComplete', {
  route: AGENT_ROUTES.complete,
  methods: ['POST'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    const req = completeRequestOf((await readJson(request, MB)).body);
    const outcome = await completeTask(s.ctx, req);
    if (outcome.ended) await raiseEnds(s, [{ jobId: req.jobId, end: outcome.ended }]);
    return { jsonBody: { accepted: outcome.accepted } };
  }),
});

/** One item of a reports call, answered as the single call would have been. */
async function itemOutcome<T>(context: InvocationContext, run: () => Promise<T>): Promise<ItemOutcome<T>> {
  try {
    return { ok: await run() };
  } catch (err) {
    const answer: HttpResponseInit = errorResponse(err, context);
    return { status: answer.status ?? 500, error: answer.jsonBody as BatchErrorBody };
  }
}

function reportsRequestOf(body: unknown): ReportsRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalidPropertyValue('body', body, 'must be a JSON object');
  const { claims = [], completions = [] } = body as Partial<ReportsRequest>;
  if (!Array.isArray(claims)) throw invalidPropertyValue('claims', claims, 'must be an array');
  if (!Array.isArray(completions)) throw invalidPropertyValue('completions', completions, 'must be an array');
  const count = claims.length + completions.length;
  if (count > MAX_REPORTS_PER_CALL) throw invalidPropertyValue('claims', count, `at most ${MAX_REPORTS_PER_CALL} claims and completions in one call`);
  return { claims, completions };
}

// Claims and end reports an agent gathered while its previous call was out: each item is
// checked and answered on its own, and each job hears of all its ends in this call as one event.
app.http('agentReports', {
  route: AGENT_ROUTES.reports,
  methods: ['POST'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, context, s) => {
    const req = reportsRequestOf((await readJson(request, MB)).body);
    const ends: { jobId: string; end: TaskEnd }[] = [];
    const [claims, completions] = await Promise.all([
      Promise.all(req.claims.map((item) => itemOutcome(context, () => claimTask(s.ctx, claimRequestOf(item))))),
      Promise.all(
        req.completions.map((item) =>
          itemOutcome(context, async () => {
            const one = completeRequestOf(item);
            const outcome = await completeTask(s.ctx, one);
            if (outcome.ended) ends.push({ jobId: one.jobId, end: outcome.ended });
            return { accepted: outcome.accepted };
          }),
        ),
      ),
    ]);
    await raiseEnds(s, ends);
    return { jsonBody: { claims, completions } satisfies ReportsResponse };
  }),
});

app.http('agentRelease', {
  route: AGENT_ROUTES.release,
  methods: ['POST'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    const req = requireStrings<ReleaseRequest>((await readJson(request, MB)).body, [...TASK_REF]);
    if (req.unstarted !== undefined && typeof req.unstarted !== 'boolean') throw invalidPropertyValue('unstarted', req.unstarted, 'must be a boolean');
    return { jsonBody: { released: await releaseTask(s.ctx, req) } };
  }),
});

app.http('agentHeartbeat', {
  route: AGENT_ROUTES.heartbeat,
  methods: ['POST'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, context, s) => {
    const req = requireStrings<HeartbeatRequest>((await readJson(request, MB)).body, ['poolId', 'nodeId', 'state', 'bootTime']);
    for (const name of ['runningTasks', 'claimedAhead'] as const) {
      const tasks: unknown = req[name];
      if (tasks === undefined && name === 'claimedAhead') continue;
      if (!Array.isArray(tasks) || !tasks.every((t) => typeof (t as { dispatchId?: unknown } | null)?.dispatchId === 'string')) {
        throw invalidPropertyValue(name, tasks, 'must be an array of tasks with a dispatchId');
      }
    }
    for (const poisoned of req.poisoned ?? []) {
      context.warn(`Node ${req.nodeId} moved an unreadable message ${poisoned.messageId} to ${poisoned.queue}-poison: ${poisoned.reason}`);
    }
    return { jsonBody: await heartbeat(s.ctx, { ...req, metrics: req.metrics ?? { cpuPercent: 0, memoryBytes: 0 } }) };
  }),
});

app.http('agentStartTask', {
  route: AGENT_ROUTES.startTask,
  methods: ['POST'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    const req = requireStrings<StartTaskReport>((await readJson(request, MB)).body, ['poolId', 'nodeId']);
    await reportStartTask(s.ctx, req);
    return { status: 204 };
  }),
});

function workSignalRequestOf(body: unknown): WorkSignalRequest {
  const req = requireStrings<WorkSignalRequest>(body, ['poolId', 'nodeId']);
  if (req.after !== undefined && !(Number.isSafeInteger(req.after) && req.after >= 0)) {
    throw invalidPropertyValue('after', req.after, 'must be a whole number from 0 up');
  }
  if (!(Number.isSafeInteger(req.waitMs) && req.waitMs >= 0 && req.waitMs <= WORK_SIGNAL_MAX_WAIT_MS)) {
    throw invalidPropertyValue('waitMs', req.waitMs, `must be a whole number of milliseconds from 0 to ${WORK_SIGNAL_MAX_WAIT_MS}`);
  }
  return req;
}

// Held open until work is sent to the pool: an idle node starts new work at once instead of at
// its next poll of the queues.
app.http('agentWorkSignal', {
  route: AGENT_ROUTES.workSignal,
  methods: ['POST'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => ({ jsonBody: await awaitPoolWork(s.ctx, workSignalRequestOf((await readJson(request, MB)).body)) })),
});

// Messages a node gave back wake its idle peers at once, as a send does.
app.http('agentWorkReturned', {
  route: AGENT_ROUTES.workReturned,
  methods: ['POST'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    noteWorkReturned(s.ctx, requireStrings<WorkReturnedReport>((await readJson(request, MB)).body, ['poolId', 'nodeId']));
    return { status: 204 };
  }),
});
