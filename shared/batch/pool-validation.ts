// Validation of pool requests (Batch's shapes), pure: a typed value or a BatchError naming the
// property.
import { parseFormula, FormulaError } from '../autoscale/index.js';
import { durationToMs, parseDuration } from './duration.js';
import { invalidPropertyValue, invalidRequestBody, missingRequiredProperty } from './errors.js';
import { batchIdProblem } from './ids.js';

export interface PoolSpec {
  id: string;
  vmSize: string;
  targetDedicatedNodes: number;
  targetLowPriorityNodes: number;
  taskSlotsPerNode: number;
  taskSchedulingPolicy: { nodeFillType: 'spread' | 'pack' };
  startTask?: { commandLine: string; environmentSettings: { name: string; value: string }[]; waitForSuccess: boolean };
  enableAutoScale: boolean;
  autoScaleFormula?: string;
  autoScaleEvaluationInterval?: string;
}

export const POOL_LIMITS = {
  maxTaskSlotsPerNode: 256,
  /**
   * Batch's minimum is 5 minutes; we allow 1 minute. Reacting within seconds does not depend on
   * it: new work triggers an evaluation at once (debounced).
   */
  minAutoScaleIntervalMs: 60_000,
  maxAutoScaleIntervalMs: 168 * 3600_000,
  defaultAutoScaleInterval: 'PT15M',
} as const;

type Obj = Record<string, unknown>;

function object(body: unknown): Obj {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalidRequestBody('The request body must be a JSON object.');
  return body as Obj;
}

function int(o: Obj, name: string, min: number, max: number, fallback?: number): number {
  const v = o[name];
  if (v === undefined || v === null) {
    if (fallback === undefined) throw missingRequiredProperty(name);
    return fallback;
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalidPropertyValue(name, v, `must be an integer from ${min} to ${max}`);
  }
  return v;
}

function bool(o: Obj, name: string, fallback: boolean): boolean {
  const v = o[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw invalidPropertyValue(name, v, 'must be true or false');
  return v;
}

export function validateFormula(formula: unknown, property = 'autoScaleFormula'): string {
  if (typeof formula !== 'string' || formula.trim() === '') throw invalidPropertyValue(property, formula, 'must be a non-empty formula');
  try {
    parseFormula(formula);
  } catch (err) {
    if (err instanceof FormulaError) {
      throw invalidPropertyValue(property, formula, `line ${err.line}, column ${err.column}: ${err.message}`);
    }
    throw err;
  }
  return formula;
}

export function validateInterval(value: unknown, property = 'autoScaleEvaluationInterval'): string {
  if (value === undefined || value === null) return POOL_LIMITS.defaultAutoScaleInterval;
  const parsed = parseDuration(value);
  if (!parsed.ok) throw invalidPropertyValue(property, value, parsed.reason);
  if (parsed.ms < POOL_LIMITS.minAutoScaleIntervalMs || parsed.ms > POOL_LIMITS.maxAutoScaleIntervalMs) {
    throw invalidPropertyValue(property, value, 'must be between 1 minute (PT1M) and 168 hours (PT168H)');
  }
  return value as string;
}

export function validatePool(body: unknown, limits: { maxDedicated: number; maxLowPriority: number }): PoolSpec {
  const o = object(body);
  if (o.id === undefined) throw missingRequiredProperty('id');
  const idProblem = batchIdProblem(o.id);
  if (idProblem) throw invalidPropertyValue('id', o.id, idProblem);
  if (typeof o.vmSize !== 'string' || !/^[A-Za-z0-9_]{1,64}$/.test(o.vmSize)) {
    if (o.vmSize === undefined) throw missingRequiredProperty('vmSize');
    throw invalidPropertyValue('vmSize', o.vmSize, 'must be a VM size name such as Standard_D2s_v5');
  }
  const enableAutoScale = bool(o, 'enableAutoScale', false);
  const spec: PoolSpec = {
    id: o.id as string,
    vmSize: o.vmSize,
    targetDedicatedNodes: 0,
    targetLowPriorityNodes: 0,
    taskSlotsPerNode: int(o, 'taskSlotsPerNode', 1, POOL_LIMITS.maxTaskSlotsPerNode, 1),
    taskSchedulingPolicy: { nodeFillType: nodeFillType(o.taskSchedulingPolicy) },
    enableAutoScale,
  };
  if (enableAutoScale) {
    if (o.targetDedicatedNodes !== undefined || o.targetLowPriorityNodes !== undefined) {
      throw invalidPropertyValue('targetDedicatedNodes', o.targetDedicatedNodes ?? o.targetLowPriorityNodes, 'must not be given when enableAutoScale is true');
    }
    spec.autoScaleFormula = validateFormula(o.autoScaleFormula);
    spec.autoScaleEvaluationInterval = validateInterval(o.autoScaleEvaluationInterval);
  } else {
    spec.targetDedicatedNodes = int(o, 'targetDedicatedNodes', 0, limits.maxDedicated, 0);
    spec.targetLowPriorityNodes = int(o, 'targetLowPriorityNodes', 0, limits.maxLowPriority, 0);
  }
  if (o.startTask !== undefined && o.startTask !== null) spec.startTask = startTask(o.startTask);
  return spec;
}

function nodeFillType(policy: unknown): 'spread' | 'pack' {
  if (policy === undefined || policy === null) return 'spread';
  if (typeof policy !== 'object' || Array.isArray(policy)) throw invalidPropertyValue('taskSchedulingPolicy', policy, 'must be an object');
  const fill = (policy as Obj).nodeFillType;
  if (fill === undefined) return 'spread';
  if (fill !== 'spread' && fill !== 'pack') throw invalidPropertyValue('taskSchedulingPolicy.nodeFillType', fill, 'must be spread or pack');
  return fill;
}

function startTask(value: unknown): NonNullable<PoolSpec['startTask']> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidPropertyValue('startTask', value, 'must be an object');
  const o = value as Obj;
  if (typeof o.commandLine !== 'string' || !o.commandLine.trim()) throw invalidPropertyValue('startTask.commandLine', o.commandLine, 'must be a non-empty string');
  const env = o.environmentSettings ?? [];
  if (!Array.isArray(env)) throw invalidPropertyValue('startTask.environmentSettings', env, 'must be an array');
  const environmentSettings = env.map((e: unknown, i) => {
    const pair = e as Obj;
    if (!pair || typeof pair.name !== 'string' || !pair.name) throw invalidPropertyValue(`startTask.environmentSettings[${i}].name`, pair?.name, 'must be a non-empty string');
    if (pair.value !== undefined && typeof pair.value !== 'string') throw invalidPropertyValue(`startTask.environmentSettings[${i}].value`, pair.value, 'must be a string');
    return { name: pair.name, value: (pair.value as string | undefined) ?? '' };
  });
  return { commandLine: o.commandLine, environmentSettings, waitForSuccess: bool(o, 'waitForSuccess', true) };
}

/** POST /pools/{id}/resize */
export function validateResize(body: unknown, limits: { maxDedicated: number; maxLowPriority: number }) {
  const o = object(body);
  if (o.targetDedicatedNodes === undefined && o.targetLowPriorityNodes === undefined) {
    throw missingRequiredProperty('targetDedicatedNodes');
  }
  const option = o.nodeDeallocationOption ?? 'requeue';
  if (!['requeue', 'terminate', 'taskcompletion', 'retaineddata'].includes(String(option))) {
    throw invalidPropertyValue('nodeDeallocationOption', option, 'must be requeue, terminate, taskcompletion or retaineddata');
  }
  return {
    targetDedicatedNodes: o.targetDedicatedNodes === undefined ? undefined : int(o, 'targetDedicatedNodes', 0, limits.maxDedicated),
    targetLowPriorityNodes: o.targetLowPriorityNodes === undefined ? undefined : int(o, 'targetLowPriorityNodes', 0, limits.maxLowPriority),
    nodeDeallocationOption: option as 'requeue' | 'terminate' | 'taskcompletion' | 'retaineddata',
  };
}

export { durationToMs };
