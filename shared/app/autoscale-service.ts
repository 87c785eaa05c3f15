// Autoscale: Batch's enable / evaluate / disable operations, the timed evaluation of every
// autoscaled pool, and (beyond Batch) an early evaluation when work arrives, debounced per pool.
// An evaluation reads the pool's metrics, adds them to its sample history, runs the formula and
// stores the outcome as the pool's autoScaleRun; a successful run sets the targets and the
// nodeDeallocationOption, which the reconciler then carries out.
import {
  evaluateFormula,
  FormulaError,
  parseFormula,
  type EvaluatedVariable,
  type EvaluationResult,
  type Formula,
} from '../autoscale/index.js';
import { BatchError, invalidRequestBody, poolNotFound, stateConflict } from '../batch/index.js';
import { durationToMs, POOL_LIMITS, validateInterval } from '../batch/pool-validation.js';
import type { Stored } from '../ports/document-store.js';
import type { AppContext } from './context.js';
import { poolKey, type PoolDoc } from './documents.js';
import { readPoolMetrics } from './autoscale-metrics.js';
import { randomFraction } from './id-source.js';
import { initialAutoScaleState, sampleDue, withReading, type AutoScaleState, type PersistedSamples } from './autoscale-state.js';
import { updateWithRetry } from './etag-retry.js';
import { poolLimits, reconcilePool } from './pool-service.js';

/** At most one early (work-triggered) evaluation per pool in this long. */
export const AUTOSCALE_DEBOUNCE_MS = 2_000;

export type AutoScaleRun = NonNullable<PoolDoc['autoScaleRun']>;

/** What evaluateautoscale returns: Batch's AutoScaleRun plus each variable's value or error (fnbatch). */
export interface AutoScaleEvaluation extends AutoScaleRun {
  variables: EvaluatedVariable[];
}

// ---- the API ----------------------------------------------------------------------------------

/** POST /pools/{id}/enableautoscale: sets (or changes) the formula and interval, then evaluates at once. */
export async function enableAutoScale(ctx: AppContext, poolId: string, body: unknown): Promise<Stored<PoolDoc>> {
  const o = bodyObject(body);
  const formulaText = o.autoScaleFormula === undefined || o.autoScaleFormula === null ? undefined : checkFormula(o.autoScaleFormula);
  const interval = o.autoScaleEvaluationInterval === undefined || o.autoScaleEvaluationInterval === null ? undefined : validateInterval(o.autoScaleEvaluationInterval);
  const now = ctx.now();
  const at = new Date(now).toISOString();
  const result = await updateWithRetry(ctx.pools, poolKey(poolId), poolKey(poolId), ({ item }) => {
    if (item.state === 'deleting') throw stateConflict('PoolBeingDeleted', 'The specified pool has been marked for deletion and is being reclaimed.', 'The pool is being deleted');
    const formula = formulaText ?? item.autoScaleFormula;
    if (!formula) throw new BatchError(400, 'InvalidAutoScalingSettings', 'The specified auto-scaling settings are not valid.', [
      { key: 'Reason', value: 'autoScaleFormula is required to enable autoscale on a pool that has none' },
    ]);
    return {
      ...item,
      enableAutoScale: true,
      autoScaleFormula: formula,
      autoScaleEvaluationInterval: interval ?? item.autoScaleEvaluationInterval ?? POOL_LIMITS.defaultAutoScaleInterval,
      // A new interval starts a new schedule, from now (as in Batch).
      autoScaleState: initialAutoScaleState(now, item.autoScaleState),
      lastModified: at,
    };
  });
  if (!result) throw poolNotFound(poolId);
  await runAutoScale(ctx, poolId);
  return (await ctx.pools.read(poolKey(poolId), poolKey(poolId))) ?? result.after!;
}

/** POST /pools/{id}/disableautoscale: the targets stay where the last evaluation put them. */
export async function disableAutoScale(ctx: AppContext, poolId: string): Promise<Stored<PoolDoc>> {
  const at = new Date(ctx.now()).toISOString();
  const result = await updateWithRetry(ctx.pools, poolKey(poolId), poolKey(poolId), ({ item }) => {
    if (!item.enableAutoScale) return undefined;
    const { autoScaleState, ...rest } = item;
    // The sample history is kept so that enabling again does not start from nothing.
    return { ...rest, enableAutoScale: false, autoScaleState: autoScaleState && { samples: autoScaleState.samples, nextRunAt: Number.MAX_SAFE_INTEGER }, lastModified: at };
  });
  if (!result) throw poolNotFound(poolId);
  return result.after ?? result.before;
}

/**
 * POST /pools/{id}/evaluateautoscale: runs a formula against the pool's metrics without applying
 * it. As in Batch, the pool must have autoscale enabled; a runtime error is part of the answer.
 */
export async function evaluateAutoScale(ctx: AppContext, poolId: string, body: unknown): Promise<AutoScaleEvaluation> {
  const o = bodyObject(body);
  if (o.autoScaleFormula === undefined || o.autoScaleFormula === null) {
    throw new BatchError(400, 'MissingRequiredProperty', 'A required property was not specified in the request body.', [{ key: 'PropertyName', value: 'autoScaleFormula' }]);
  }
  const formula = parseChecked(checkFormula(o.autoScaleFormula));
  const pool = await ctx.pools.read(poolKey(poolId), poolKey(poolId));
  if (!pool) throw poolNotFound(poolId);
  if (!pool.item.enableAutoScale) {
    throw stateConflict('AutoScalingNotEnabled', 'Autoscale must be enabled on the pool to evaluate a formula on it.', 'Autoscale is not enabled');
  }
  const now = ctx.now();
  const { result } = await evaluateOn(ctx, pool.item, formula, now);
  return { ...toRun(result, now), variables: result.variables };
}

// ---- evaluation -------------------------------------------------------------------------------

/**
 * Evaluates the pool's formula now and applies the result: targets and nodeDeallocationOption on
 * success, only autoScaleRun.error on failure (the pool keeps its size). Returns the run, or
 * undefined when the pool is gone or not autoscaled.
 */
export async function runAutoScale(ctx: AppContext, poolId: string): Promise<AutoScaleRun | undefined> {
  const pool = await ctx.pools.read(poolKey(poolId), poolKey(poolId));
  if (!pool || !pool.item.enableAutoScale || pool.item.state === 'deleting' || !pool.item.autoScaleFormula) return undefined;
  const now = ctx.now();
  const text = pool.item.autoScaleFormula;
  let formula: Formula | undefined;
  let parseError: FormulaError | undefined;
  try {
    formula = parseFormula(text);
  } catch (err) {
    if (!(err instanceof FormulaError)) throw err;
    parseError = err;
  }
  const evaluated = formula ? await evaluateOn(ctx, pool.item, formula, now) : undefined;
  const run: AutoScaleRun = evaluated
    ? toRun(evaluated.result, now)
    : { timestamp: new Date(now).toISOString(), error: runError(parseError!) };
  const limits = poolLimits();
  const at = new Date(now).toISOString();
  await updateWithRetry(ctx.pools, pool.item.id, pool.item.id, ({ item }) => {
    // The formula changed while this evaluation ran: its result belongs to the old one.
    if (!item.enableAutoScale || item.autoScaleFormula !== text || item.state === 'deleting') return undefined;
    const state = scheduleAfterRun(item, now, evaluated?.samples);
    const next: PoolDoc = { ...item, autoScaleRun: run, autoScaleState: state };
    if (evaluated && !evaluated.result.error) {
      const dedicated = evaluated.assigns.dedicated ? Math.min(evaluated.result.targetDedicatedNodes, limits.maxDedicated) : item.targetDedicatedNodes;
      const low = evaluated.assigns.lowPriority ? Math.min(evaluated.result.targetLowPriorityNodes, limits.maxLowPriority) : item.targetLowPriorityNodes;
      const changed = dedicated !== item.targetDedicatedNodes || low !== item.targetLowPriorityNodes;
      next.targetDedicatedNodes = dedicated;
      next.targetLowPriorityNodes = low;
      next.nodeDeallocationOption = evaluated.result.nodeDeallocationOption;
      if (changed) {
        next.allocationState = 'resizing';
        next.allocationStateTransitionTime = at;
        next.resizeErrors = [];
      }
    }
    return next;
  });
  return run;
}

async function evaluateOn(
  ctx: AppContext,
  pool: PoolDoc,
  formula: Formula,
  now: number,
): Promise<{ result: EvaluationResult; samples: PersistedSamples; assigns: { dedicated: boolean; lowPriority: boolean } }> {
  const { reading } = await readPoolMetrics(ctx, pool);
  const { history, samples } = withReading(pool.autoScaleState?.samples, now, reading);
  const result = evaluateFormula(formula, {
    now,
    random: randomFraction,
    metrics: history.toSource(reading),
    // The evaluator reads both $CurrentDedicatedNodes and an unassigned $TargetDedicatedNodes from
    // here; the nodes the pool has is the right answer for the first and a fair one for the second.
    current: { dedicated: pool.currentDedicatedNodes, lowPriority: pool.currentLowPriorityNodes },
  });
  return { result, samples, assigns: assignedTargets(formula) };
}

/** Which targets the formula sets; one it leaves alone keeps the pool's current target. */
export function assignedTargets(formula: Formula): { dedicated: boolean; lowPriority: boolean } {
  const names = new Set(formula.statements.filter((s) => s.kind === 'assign').map((s) => (s as { name: string }).name));
  return {
    dedicated: names.has('$TargetDedicatedNodes') || names.has('$TargetDedicated'),
    lowPriority: names.has('$TargetLowPriorityNodes') || names.has('$TargetLowPriority'),
  };
}

function scheduleAfterRun(pool: PoolDoc, now: number, samples: PersistedSamples | undefined): AutoScaleState {
  const state = pool.autoScaleState ?? initialAutoScaleState(now);
  const intervalMs = durationToMs(pool.autoScaleEvaluationInterval ?? POOL_LIMITS.defaultAutoScaleInterval);
  // Early evaluations do not move the timed schedule; a timed one sets the next.
  let nextRunAt = state.nextRunAt;
  while (nextRunAt <= now) nextRunAt += intervalMs;
  return {
    ...state,
    nextRunAt,
    lastRunAt: now,
    requestedAt: undefined,
    samples: samples ?? state.samples,
    lastSampledAt: samples ? now : state.lastSampledAt,
  };
}

function toRun(result: EvaluationResult, now: number): AutoScaleRun {
  const run: AutoScaleRun = { timestamp: new Date(now).toISOString(), results: result.results };
  if (result.error) run.error = runError(result.error, result.variables);
  return run;
}

/** Batch's AutoScaleRunError: the formula's line and column, and per-variable errors, as name/value pairs. */
function runError(error: FormulaError, variables: EvaluatedVariable[] = []): NonNullable<AutoScaleRun['error']> {
  const values = [
    { name: 'Line', value: String(error.line) },
    { name: 'Column', value: String(error.column) },
    ...variables.filter((v) => v.error !== undefined).map((v) => ({ name: v.name, value: v.error! })),
  ];
  return { code: 'AutoScalingFormulaEvaluationError', message: error.describe(), values };
}

// ---- early evaluation when work arrives -------------------------------------------------------

export type EvaluationRequestOutcome = 'evaluated' | 'deferred' | 'not-autoscaled';

/**
 * New work for the pool (a job submitted, tasks queued): evaluate now if the pool was not
 * evaluated in the last AUTOSCALE_DEBOUNCE_MS, else leave a request that the autoscale timer
 * honours once the debounce period has passed. The claim on "now" is an ETag-guarded write, so
 * concurrent requests (from several app instances, too) evaluate once. Returns after the
 * evaluation is stored; the reconciler (`apply`) runs after it.
 */
export async function requestAutoScaleEvaluation(
  ctx: AppContext,
  poolId: string,
  apply?: (poolId: string) => Promise<void>,
): Promise<EvaluationRequestOutcome> {
  const pool = await ctx.pools.read(poolKey(poolId), poolKey(poolId));
  if (!pool || !pool.item.enableAutoScale || pool.item.state === 'deleting') return 'not-autoscaled';
  const now = ctx.now();
  const state = pool.item.autoScaleState;
  const earliest = (state?.lastRunAt ?? -Infinity) + AUTOSCALE_DEBOUNCE_MS;
  if (now < earliest && state?.requestedAt !== undefined) return 'deferred';
  let claimed = false;
  await updateWithRetry(ctx.pools, pool.item.id, pool.item.id, ({ item }) => {
    claimed = false;
    if (!item.enableAutoScale) return undefined;
    const current = item.autoScaleState ?? initialAutoScaleState(now);
    if (now >= (current.lastRunAt ?? -Infinity) + AUTOSCALE_DEBOUNCE_MS) {
      claimed = true;
      return { ...item, autoScaleState: { ...current, lastRunAt: now, requestedAt: undefined } };
    }
    if (current.requestedAt !== undefined) return undefined;
    return { ...item, autoScaleState: { ...current, requestedAt: now } };
  });
  if (!claimed) return 'deferred';
  await runAutoScale(ctx, poolId);
  if (apply) await apply(pool.item.poolId);
  return 'evaluated';
}

// ---- the timer --------------------------------------------------------------------------------

export interface TickOutcome {
  sampled: string[];
  evaluated: string[];
  failed: { poolId: string; error: string }[];
}

/**
 * One pass of the autoscale timer over every autoscaled pool: evaluate those whose interval is up
 * or whose early request has waited out the debounce, and record a metric sample for the others
 * once per sample period (so GetSample has a history between evaluations).
 */
export async function autoScaleTick(ctx: AppContext, apply?: (poolId: string) => Promise<void>): Promise<TickOutcome> {
  const outcome: TickOutcome = { sampled: [], evaluated: [], failed: [] };
  for (const { item: pool } of (await ctx.pools.queryAll()).items) {
    if (!pool.enableAutoScale || pool.state === 'deleting') continue;
    try {
      const now = ctx.now();
      const state = pool.autoScaleState;
      const timed = state === undefined || now >= state.nextRunAt;
      const requested = state?.requestedAt !== undefined && now >= (state.lastRunAt ?? -Infinity) + AUTOSCALE_DEBOUNCE_MS;
      if (timed || requested) {
        const run = await runAutoScale(ctx, pool.poolId);
        if (run) outcome.evaluated.push(pool.poolId);
        if (apply) await apply(pool.poolId);
      } else if (sampleDue(state, now)) {
        await recordSample(ctx, pool);
        outcome.sampled.push(pool.poolId);
      }
    } catch (err) {
      outcome.failed.push({ poolId: pool.poolId, error: (err as Error).message });
    }
  }
  return outcome;
}

async function recordSample(ctx: AppContext, pool: PoolDoc): Promise<void> {
  const { reading } = await readPoolMetrics(ctx, pool);
  const now = ctx.now();
  await updateWithRetry(ctx.pools, pool.id, pool.id, ({ item }) => {
    if (!item.enableAutoScale || !item.autoScaleState) return undefined;
    const { samples } = withReading(item.autoScaleState.samples, now, reading);
    return { ...item, autoScaleState: { ...item.autoScaleState, samples, lastSampledAt: now } };
  });
}

// ---- request bodies ---------------------------------------------------------------------------

function bodyObject(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalidRequestBody('The request body must be a JSON object.');
  return body as Record<string, unknown>;
}

function checkFormula(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new BatchError(400, 'InvalidAutoScalingSettings', 'The specified auto-scaling settings are not valid.', [
      { key: 'PropertyName', value: 'autoScaleFormula' },
      { key: 'Reason', value: 'must be a non-empty formula' },
    ]);
  }
  parseChecked(value);
  return value;
}

/** Parses a formula, turning its errors into Batch's 400s naming the line and column. */
function parseChecked(text: string): Formula {
  try {
    return parseFormula(text);
  } catch (err) {
    if (!(err instanceof FormulaError)) throw err;
    const tooLong = err.kind === 'limit';
    throw new BatchError(
      400,
      tooLong ? 'AutoScalingFormulaTooLong' : 'AutoScalingFormulaSyntaxError',
      tooLong ? 'The specified auto-scaling formula exceeds lengths limit.' : 'The specified auto-scaling formula has a syntax error.',
      [
        { key: 'Line', value: String(err.line) },
        { key: 'Column', value: String(err.column) },
        { key: 'Reason', value: err.message },
      ],
    );
  }
}

// ---- fire-and-forget requests from the hot paths ---------------------------------------------

const requestsInFlight = new Set<Promise<unknown>>();

/**
 * The form job submission and dispatch use: they must not wait for (or fail with) an evaluation;
 * a lost request only costs the early start, the timer still evaluates on its interval.
 */
export function requestAutoScaleSoon(ctx: AppContext, poolId: string): void {
  const request: Promise<unknown> = requestAutoScaleEvaluation(ctx, poolId, (id) => reconcilePool(ctx, id))
    .catch(() => undefined)
    .finally(() => requestsInFlight.delete(request));
  requestsInFlight.add(request);
}

/** Waits for the requests made with requestAutoScaleSoon (tests, shutdown). */
export async function settleAutoScaleRequests(): Promise<void> {
  while (requestsInFlight.size) await Promise.all([...requestsInFlight]);
}
