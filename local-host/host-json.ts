// host.json, read the way the Functions host reads it, with the host's defaults filled in.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const HOST_JSON_FILE = 'host.json';

export interface QueuesOptions {
  /** Messages fetched per receive call (1-32). */
  batchSize: number;
  /** Fetch the next batch when fewer than this many messages are still being processed. */
  newBatchThreshold: number;
  /** Upper bound of the empty-queue polling backoff. */
  maxPollingIntervalMs: number;
  /** Delay before a failed message becomes visible again. */
  visibilityTimeoutMs: number;
  /** Attempts before a message goes to the poison queue. */
  maxDequeueCount: number;
  messageEncoding: 'base64' | 'none';
}

export interface DurableTaskOptions {
  /** As written; may be a %setting% expression, for the caller to resolve. */
  hubName: string;
  storageProvider: { type: string; connectionStringName?: string; [property: string]: unknown };
  maxConcurrentActivityFunctions?: number;
  maxConcurrentOrchestratorFunctions?: number;
}

export interface HostJson {
  /** The file read, or undefined when the app has no host.json (all defaults). */
  file?: string;
  version: string;
  routePrefix: string;
  queues: QueuesOptions;
  durableTask: DurableTaskOptions;
  /** The parsed document, for settings this module does not model. */
  raw: Record<string, unknown>;
}

const TIMESPAN = /^(-)?(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?$/;

/**
 * Parses a .NET TimeSpan string ("[-][d.]hh:mm[:ss[.fffffff]]", e.g. "00:00:02" or "1.02:03:04.5")
 * or a bare day count ("3"), returning milliseconds. Throws on anything else.
 */
export function parseTimeSpan(text: string): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 86_400_000;
  const m = TIMESPAN.exec(trimmed);
  if (!m) throw new Error(`'${text}' is not a TimeSpan (expected [d.]hh:mm[:ss[.fffffff]], e.g. "00:00:30")`);
  const [, minus, days, hours, minutes, seconds, fraction] = m;
  const h = Number(hours);
  const min = Number(minutes);
  const s = Number(seconds ?? '0');
  if (h > 23 || min > 59 || s > 59) {
    throw new Error(`'${text}' is not a TimeSpan: hours must be 0-23, minutes and seconds 0-59`);
  }
  const fractionMs = fraction ? Number(`0.${fraction}`) * 1000 : 0;
  const ms = Number(days ?? '0') * 86_400_000 + h * 3_600_000 + min * 60_000 + s * 1000 + fractionMs;
  return minus ? -ms : ms;
}

class HostJsonError extends Error {}

/** Reads appDir/host.json; a missing file means all defaults, a malformed one throws naming the file and the problem. */
export function readHostJson(appDir: string): HostJson {
  const file = path.join(appDir, HOST_JSON_FILE);
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text === undefined) return interpretHostJson({}, undefined);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  try {
    return interpretHostJson(parsed, file);
  } catch (err) {
    if (err instanceof HostJsonError) throw new Error(`${file}: ${err.message}`);
    throw err;
  }
}

/** Applies the host's defaults to an already-parsed host.json document. */
export function interpretHostJson(doc: unknown, file?: string): HostJson {
  const root = objectAt(doc, '(root)');
  const version = root.version === undefined ? '2.0' : stringAt(root.version, 'version');
  if (!version.startsWith('2.')) throw new HostJsonError(`version must be "2.0" (found "${version}")`);
  const extensions = optionalObject(root.extensions, 'extensions');
  const http = optionalObject(extensions.http, 'extensions.http');
  const routePrefix = http.routePrefix === undefined ? 'api' : stringAt(http.routePrefix, 'extensions.http.routePrefix');
  return {
    file,
    version,
    routePrefix,
    queues: readQueues(optionalObject(extensions.queues, 'extensions.queues')),
    durableTask: readDurableTask(optionalObject(extensions.durableTask, 'extensions.durableTask')),
    raw: root,
  };
}

function readQueues(q: Record<string, unknown>): QueuesOptions {
  const where = (name: string) => `extensions.queues.${name}`;
  const batchSize = q.batchSize === undefined ? 16 : integerAt(q.batchSize, where('batchSize'), 1, 32);
  const newBatchThreshold =
    q.newBatchThreshold === undefined
      ? Math.floor(batchSize / 2)
      : integerAt(q.newBatchThreshold, where('newBatchThreshold'), 0, Number.MAX_SAFE_INTEGER);
  const encoding = q.messageEncoding === undefined ? 'base64' : stringAt(q.messageEncoding, where('messageEncoding'));
  const messageEncoding = encoding.toLowerCase();
  if (messageEncoding !== 'base64' && messageEncoding !== 'none') {
    throw new HostJsonError(`${where('messageEncoding')} must be "base64" or "none" (found "${encoding}")`);
  }
  return {
    batchSize,
    newBatchThreshold,
    maxPollingIntervalMs: q.maxPollingInterval === undefined ? 60_000 : durationAt(q.maxPollingInterval, where('maxPollingInterval')),
    visibilityTimeoutMs: q.visibilityTimeout === undefined ? 0 : durationAt(q.visibilityTimeout, where('visibilityTimeout')),
    maxDequeueCount: q.maxDequeueCount === undefined ? 5 : integerAt(q.maxDequeueCount, where('maxDequeueCount'), 1, Number.MAX_SAFE_INTEGER),
    messageEncoding,
  };
}

function readDurableTask(d: Record<string, unknown>): DurableTaskOptions {
  const provider = optionalObject(d.storageProvider, 'extensions.durableTask.storageProvider');
  const type = provider.type === undefined ? 'AzureStorage' : stringAt(provider.type, 'extensions.durableTask.storageProvider.type');
  const connectionStringName =
    provider.connectionStringName === undefined
      ? undefined
      : stringAt(provider.connectionStringName, 'extensions.durableTask.storageProvider.connectionStringName');
  const limit = (name: string) =>
    d[name] === undefined ? undefined : integerAt(d[name], `extensions.durableTask.${name}`, 1, Number.MAX_SAFE_INTEGER);
  return {
    hubName: d.hubName === undefined ? 'TestHubName' : stringAt(d.hubName, 'extensions.durableTask.hubName'),
    storageProvider: { ...provider, type, ...(connectionStringName !== undefined ? { connectionStringName } : {}) },
    maxConcurrentActivityFunctions: limit('maxConcurrentActivityFunctions'),
    maxConcurrentOrchestratorFunctions: limit('maxConcurrentOrchestratorFunctions'),
  };
}

function objectAt(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HostJsonError(`${where} must be an object`);
  }
  return value as Record<string, unknown>;
}

function optionalObject(value: unknown, where: string): Record<string, unknown> {
  return value === undefined ? {} : objectAt(value, where);
}

function stringAt(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new HostJsonError(`${where} must be a string (found ${JSON.stringify(value)})`);
  return value;
}

function integerAt(value: unknown, where: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `${min}-${max}`;
    throw new HostJsonError(`${where} must be an integer ${range} (found ${JSON.stringify(value)})`);
  }
  return value;
}

/** A TimeSpan string; a plain number is taken as milliseconds (the Functions 1.x host.json form). */
function durationAt(value: unknown, where: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value !== 'string') throw new HostJsonError(`${where} must be a TimeSpan string such as "00:00:02"`);
  let ms: number;
  try {
    ms = parseTimeSpan(value);
  } catch (err) {
    throw new HostJsonError(`${where}: ${(err as Error).message}`);
  }
  if (ms < 0) throw new HostJsonError(`${where} must not be negative (found "${value}")`);
  return ms;
}
