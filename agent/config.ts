// The agent's configuration, read from the AGENT_ENV variables (set by the VM's service unit or by
// the local scale-set provider), with command-line overrides. Anything wrong is reported at once
// with the variable's name, so a misconfigured node fails visibly instead of idling.
import os from 'node:os';
import path from 'node:path';
import { AGENT_ENV } from '../shared/agent-protocol.js';
import { LAUNCHER_CHOICES, type LauncherChoice } from './launchers/start-launcher.js';

/** Variables the agent reads beyond the protocol's AGENT_ENV. */
export const AGENT_EXTRA_ENV = {
  startTask: 'FNBATCH_START_TASK',
  shutdownGraceMs: 'FNBATCH_SHUTDOWN_GRACE_MS',
  /** "1": leave (as on SIGTERM) once the parent process is gone; set for local nodes. */
  exitWithParent: 'FNBATCH_EXIT_WITH_PARENT',
  /** How task processes are started: auto (the default), posix-spawn or node-spawn (agent/launchers/). */
  launcher: 'FNBATCH_AGENT_LAUNCHER',
} as const;

export interface StartTaskSpec {
  commandLine: string;
  environmentSettings: { name: string; value: string }[];
  waitForSuccess: boolean;
}

export interface AgentConfig {
  /** API base URL without a trailing slash, e.g. http://127.0.0.1:7071/api. */
  endpoint: string;
  /** Sent as x-functions-key; absent when the API needs no key. */
  agentKey?: string;
  poolId: string;
  nodeId: string;
  isDedicated: boolean;
  taskSlots: number;
  /** A Storage connection string, or an account name / service URL reached with DefaultAzureCredential. */
  storage: string;
  workDir: string;
  leaseMs: number;
  shutdownGraceMs: number;
  startTask?: StartTaskSpec;
  /** Where to write the node's request totals; absent: nothing is counted. */
  requestCountsDir?: string;
  launcher: LauncherChoice;
}

export interface AgentConfigOverrides {
  endpoint?: string;
  poolId?: string;
  nodeId?: string;
  taskSlots?: number;
  workDir?: string;
  shutdownGraceMs?: number;
}

export class AgentConfigError extends Error {
  override readonly name = 'AgentConfigError';
}

export const DEFAULT_LEASE_MS = 30_000;
export const DEFAULT_SHUTDOWN_GRACE_MS = 30_000;
export const MAX_TASK_SLOTS = 256;
// Storage queues count visibility in whole seconds and the agent renews at half the lease, so a
// lease under two seconds could not be renewed in time.
const MIN_LEASE_MS = 2_000;
const MAX_LEASE_MS = 7 * 24 * 60 * 60 * 1000;

export function loadAgentConfig(env: NodeJS.ProcessEnv, overrides: AgentConfigOverrides = {}): AgentConfig {
  const problems: string[] = [];
  const text = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
  const required = (name: string, override?: string): string => {
    const value = override ?? text(name);
    if (value === undefined) problems.push(`${name} is not set`);
    return value ?? '';
  };

  const endpoint = required(AGENT_ENV.endpoint, overrides.endpoint).replace(/\/+$/, '');
  if (endpoint && !isHttpUrl(endpoint)) problems.push(`${AGENT_ENV.endpoint} must be an http(s) URL, got "${endpoint}"`);
  const poolId = required(AGENT_ENV.poolId, overrides.poolId);
  const nodeId = overrides.nodeId ?? text(AGENT_ENV.nodeId) ?? os.hostname();
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(nodeId)) problems.push(`the node id "${nodeId}" must be 1-64 letters, digits, '.', '_' or '-'`);
  const storage = required(AGENT_ENV.storage);
  const isDedicated = parseBoolean(text(AGENT_ENV.isDedicated), true, AGENT_ENV.isDedicated, problems);
  const taskSlots =
    overrides.taskSlots ?? parseInteger(text(AGENT_ENV.taskSlots), 1, 1, MAX_TASK_SLOTS, AGENT_ENV.taskSlots, problems);
  const leaseMs = parseInteger(text(AGENT_ENV.visibilityTimeoutMs), DEFAULT_LEASE_MS, MIN_LEASE_MS, MAX_LEASE_MS, AGENT_ENV.visibilityTimeoutMs, problems);
  const shutdownGraceMs =
    overrides.shutdownGraceMs ??
    parseInteger(text(AGENT_EXTRA_ENV.shutdownGraceMs), DEFAULT_SHUTDOWN_GRACE_MS, 0, 24 * 60 * 60 * 1000, AGENT_EXTRA_ENV.shutdownGraceMs, problems);
  const workDir = path.resolve(overrides.workDir ?? text(AGENT_ENV.workDir) ?? path.join(os.tmpdir(), 'fnbatch-agent', nodeId));
  const startTask = parseStartTask(text(AGENT_EXTRA_ENV.startTask), problems);
  const requestCountsDir = text(AGENT_ENV.requestCountsDir);
  const launcher = parseLauncher(text(AGENT_EXTRA_ENV.launcher), problems);

  if (problems.length) throw new AgentConfigError(`bad agent configuration:\n  ${problems.join('\n  ')}`);
  const agentKey = text(AGENT_ENV.key);
  return {
    endpoint,
    ...(agentKey ? { agentKey } : {}),
    poolId,
    nodeId,
    isDedicated,
    taskSlots,
    storage,
    workDir,
    leaseMs,
    shutdownGraceMs,
    ...(startTask ? { startTask } : {}),
    ...(requestCountsDir ? { requestCountsDir: path.resolve(requestCountsDir) } : {}),
    launcher,
  };
}

function parseLauncher(value: string | undefined, problems: string[]): LauncherChoice {
  if (value === undefined) return 'auto';
  if ((LAUNCHER_CHOICES as readonly string[]).includes(value)) return value as LauncherChoice;
  problems.push(`${AGENT_EXTRA_ENV.launcher} must be one of ${LAUNCHER_CHOICES.join(', ')}, got "${value}"`);
  return 'auto';
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function parseBoolean(value: string | undefined, fallback: boolean, name: string, problems: string[]): boolean {
  if (value === undefined) return fallback;
  const lower = value.toLowerCase();
  if (lower === 'true' || lower === '1') return true;
  if (lower === 'false' || lower === '0') return false;
  problems.push(`${name} must be true or false, got "${value}"`);
  return fallback;
}

function parseInteger(value: string | undefined, fallback: number, min: number, max: number, name: string, problems: string[]): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
    return fallback;
  }
  return n;
}

function parseStartTask(value: string | undefined, problems: string[]): StartTaskSpec | undefined {
  if (value === undefined) return undefined;
  const name = AGENT_EXTRA_ENV.startTask;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    problems.push(`${name} is not valid JSON`);
    return undefined;
  }
  const spec = parsed as Partial<StartTaskSpec> | null;
  if (!spec || typeof spec !== 'object' || typeof spec.commandLine !== 'string' || !spec.commandLine.trim()) {
    problems.push(`${name} needs a non-empty "commandLine"`);
    return undefined;
  }
  const settings = spec.environmentSettings ?? [];
  if (!Array.isArray(settings) || settings.some((s) => typeof s?.name !== 'string' || typeof s?.value !== 'string')) {
    problems.push(`${name}.environmentSettings must be a list of {name, value} strings`);
    return undefined;
  }
  return {
    commandLine: spec.commandLine,
    environmentSettings: settings.map((s) => ({ name: s.name, value: s.value })),
    waitForSuccess: spec.waitForSuccess === true,
  };
}
