// The API the node agents call (see shared/agent-protocol.ts): claim a task before starting it,
// report its end, give it back, heartbeat.
import { app } from '@azure/functions';
import { invalidPropertyValue, missingRequiredProperty } from '../shared/batch/index.js';
import {
  AGENT_ROUTES,
  type ClaimRequest,
  type CompleteRequest,
  type HeartbeatRequest,
  type ReleaseRequest,
  type StartTaskReport,
} from '../shared/agent-protocol.js';
import { jobInstanceId } from '../shared/app/documents.js';
import { heartbeat, reportStartTask } from '../shared/app/node-service.js';
import { claimTask, completeTask, releaseTask } from '../shared/app/task-lifecycle.js';
import { api, durableClientInput, MB, readJson } from './http-kit.js';

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

app.http('agentClaim', {
  route: AGENT_ROUTES.claim,
  methods: ['POST'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    const req = requireStrings<ClaimRequest>((await readJson(request, MB)).body, [...TASK_REF]);
    return { jsonBody: await claimTask(s.ctx, req) };
  }),
});

app.http('agentComplete', {
  route: AGENT_ROUTES.complete,
  methods: ['POST'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    const req = requireStrings<CompleteRequest>((await readJson(request, MB)).body, [...TASK_REF, 'startTime', 'endTime']);
    if (req.exitCode !== null && req.exitCode !== undefined && !Number.isInteger(req.exitCode)) {
      throw invalidPropertyValue('exitCode', req.exitCode, 'must be an integer or null');
    }
    const outcome = await completeTask(s.ctx, req);
    if (outcome.ended) await s.orchestrations.raise(jobInstanceId(req.jobId), outcome.ended.event);
    return { jsonBody: { accepted: outcome.accepted } };
  }),
});

app.http('agentRelease', {
  route: AGENT_ROUTES.release,
  methods: ['POST'],
  authLevel: 'function',
  extraInputs,
  handler: api(async (request, _context, s) => {
    const req = requireStrings<ReleaseRequest>((await readJson(request, MB)).body, [...TASK_REF]);
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
    if (!Array.isArray(req.runningTasks)) throw invalidPropertyValue('runningTasks', req.runningTasks, 'must be an array');
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
