// Reads a queue message body as a TaskMessage. Anything else is poison: retrying it would never
// help, so the caller moves it aside. Ids also become directory names, hence the strict pattern.
import { PROTOCOL_VERSION, type NameValue, type TaskMessage } from '../shared/agent-protocol.js';

const ID = /^[A-Za-z0-9_-]{1,64}$/;

export type ParsedTaskMessage = { ok: true; task: TaskMessage } | { ok: false; reason: string };

export function parseTaskMessage(body: string): ParsedTaskMessage {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { ok: false, reason: 'body is not a JSON object' };
  const m = value as Record<string, unknown>;
  if (m.v !== PROTOCOL_VERSION) return { ok: false, reason: `unsupported protocol version ${JSON.stringify(m.v)}` };
  for (const field of ['jobId', 'taskId'] as const) {
    if (typeof m[field] !== 'string' || !ID.test(m[field] as string)) return { ok: false, reason: `${field} is missing or not a valid id` };
  }
  if (typeof m.dispatchId !== 'string' || !m.dispatchId) return { ok: false, reason: 'dispatchId is missing' };
  if (typeof m.commandLine !== 'string') return { ok: false, reason: 'commandLine is missing' };
  if (!Number.isInteger(m.retryCount) || (m.retryCount as number) < 0) return { ok: false, reason: 'retryCount is not a whole number' };
  if (!Number.isInteger(m.requiredSlots) || (m.requiredSlots as number) < 1) return { ok: false, reason: 'requiredSlots is not a positive integer' };
  if (m.maxWallClockMs !== undefined && (typeof m.maxWallClockMs !== 'number' || !(m.maxWallClockMs > 0))) {
    return { ok: false, reason: 'maxWallClockMs is not a positive number' };
  }
  const environment = m.environment ?? [];
  if (!Array.isArray(environment) || !environment.every(isNameValue)) return { ok: false, reason: 'environment is not a list of {name, value}' };
  return {
    ok: true,
    task: {
      v: PROTOCOL_VERSION,
      jobId: m.jobId as string,
      taskId: m.taskId as string,
      dispatchId: m.dispatchId,
      retryCount: m.retryCount as number,
      commandLine: m.commandLine,
      environment: environment as NameValue[],
      ...(m.maxWallClockMs !== undefined ? { maxWallClockMs: m.maxWallClockMs as number } : {}),
      requiredSlots: m.requiredSlots as number,
      enqueuedAt: typeof m.enqueuedAt === 'string' ? m.enqueuedAt : '',
    },
  };
}

function isNameValue(item: unknown): item is NameValue {
  const nv = item as NameValue | null;
  return !!nv && typeof nv.name === 'string' && typeof nv.value === 'string';
}
