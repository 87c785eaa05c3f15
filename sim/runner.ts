// Runs the simulated world: one iteration is a seed, a strategy and a scenario; every choice
// comes from the seed's generator, so the same three always give the same trace. Exploration runs
// many seeds and stops at the first violation.
import { loadSimApp } from './app-functions.js';
import { MONITORS, type Violation } from './monitors.js';
import { Prng } from './prng.js';
import type { Scenario } from './scenario.js';
import { createStrategy, type Strategy, type StrategyName } from './strategies.js';
import { World } from './world.js';

export interface RunResult {
  seed: number;
  scenario: string;
  strategy: string;
  steps: number;
  virtualMs: number;
  violation?: Violation;
  trace: string[];
  /** FNV-1a of the chosen steps: equal hashes mean the same schedule. */
  scheduleHash: number;
  summary: string;
}

export interface RunOptions {
  scenario: Scenario;
  seed: number;
  strategy: Strategy;
  maxSteps?: number;
  /** Check every quiet-work verdict against the real services (see periodic-work.ts). */
  verifyQuietWork?: boolean;
}

const FNV_OFFSET = 0x811c9dc5;
const MAX_STALL_MS = 1500;

function fnv(hash: number, text: string): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export async function runOnce({ scenario, seed, strategy, maxSteps = scenario.maxSteps, verifyQuietWork }: RunOptions): Promise<RunResult> {
  const app = await loadSimApp();
  const prng = new Prng(seed);
  const world = new World(app, scenario, prng, { verifyQuietWork });
  await world.setup();
  strategy.begin(prng, seed);
  const { clock, monitors, trace, kernel } = world;
  const coolDownMs = scenario.leaseMs + 5000;
  let hash = FNV_OFFSET;
  let violation: Violation | undefined;
  let coldAt: number | undefined;
  let step = 0;
  let stuck = false;
  const failure = (): Violation | undefined => (world.unexpected ? { monitor: 'UnexpectedError', message: world.unexpected } : monitors.violation);
  const orchestrationFailed = (): Violation | undefined => {
    const failed = world.failedOrchestrations();
    return failed.length ? { monitor: 'JobOrchestrationNeverFails', message: `job orchestration failed: ${failed.join('; ')}` } : undefined;
  };
  for (; step < maxSteps; step++) {
    // The previous step ended settled; only an injected fault leaves anything to run.
    if (world.injectFaults(step)) await kernel.settle();
    // Periodic work that would change nothing runs (or is skipped) here, not as a choice.
    await world.runQuietWork();
    monitors.track(clock.now());
    violation = failure();
    if (violation) break;
    const steps = world.steps();
    if (steps.length === 0) {
      const next = world.nextEventAt();
      if (next === undefined) {
        stuck = true; // nothing can happen now or later
        break;
      }
      clock.advanceTo(next);
      continue;
    }
    if (prng.chance(scenario.faults.timePasses)) {
      // Time moves on while work is in flight (a slow call, a GC pause): a bounded stall, so that
      // a healthy node is not written off merely because the simulator looked away.
      const next = world.nextEventAt();
      const stall = prng.between(1, MAX_STALL_MS);
      clock.advanceTo(next === undefined ? clock.now() + stall : Math.min(next, clock.now() + stall));
      continue;
    }
    const chosen = steps[steps.length === 1 ? 0 : strategy.pick(steps, step)]!;
    trace.add(chosen.label);
    hash = fnv(hash, chosen.label);
    chosen.run();
    await kernel.settle();
    // A failed orchestration can never complete its job: no need to wait for the liveness bound.
    violation = failure() ?? (chosen.owner.startsWith('orchestration ') ? orchestrationFailed() : undefined);
    if (violation) break;
    const now = clock.now();
    if (!monitors.hot()) {
      coldAt ??= now;
      if (!world.busy() || now - coldAt > coolDownMs) break;
    } else {
      coldAt = undefined;
      if (now - world.start > scenario.livenessBoundMs) break;
    }
  }
  strategy.end(step);
  if (!violation && monitors.hot()) {
    const why = stuck ? 'the system went quiet' : step >= maxSteps ? `${maxSteps} steps` : `${scenario.livenessBoundMs / 1000}s of virtual time`;
    const found = orchestrationFailed() ?? monitors.livenessViolation() ?? { monitor: MONITORS.jobCompletes, message: 'a job never completed' };
    violation = { monitor: found.monitor, message: `${found.message} (hot after ${why})` };
  }
  return {
    seed,
    scenario: scenario.name,
    strategy: strategy.describe(),
    steps: step,
    virtualMs: clock.now() - world.start,
    violation,
    get trace() {
      return trace.lines;
    },
    scheduleHash: hash,
    summary: monitors.summary(),
  };
}

export interface ExploreOptions {
  scenario: Scenario;
  strategy: StrategyName;
  iterations: number;
  /** The first iteration's seed; iteration i runs seedFor(seed, i). */
  seed: number;
  maxSteps?: number;
  /** Stop early after this much wall time. */
  timeLimitMs?: number;
  pctDepth?: number;
  /** Told after each iteration how far the exploration has come. */
  onProgress?: (done: number, total: number, seconds: number) => void;
}

export interface ExploreResult {
  scenario: string;
  strategy: StrategyName;
  iterations: number;
  seconds: number;
  perSecond: number;
  distinctSchedules: number;
  totalSteps: number;
  /** The first failing run, with its full trace. */
  failure?: RunResult;
  /** Iterations run up to and including the failing one. */
  iterationsToFailure?: number;
  secondsToFailure?: number;
}

/** Seeds of consecutive iterations, spread so that neighbouring runs share nothing. */
export function seedFor(base: number, iteration: number): number {
  return (base + Math.imul(iteration, 0x9e3779b1)) >>> 0;
}

/** The strategy for a scenario: PCT's change points fall within the first 600 steps. */
export function strategyForRun(name: StrategyName, scenario: Scenario, maxSteps?: number, pctDepth = 3): Strategy {
  return createStrategy(name, pctDepth, Math.min(maxSteps ?? scenario.maxSteps, 600));
}

export async function explore(options: ExploreOptions): Promise<ExploreResult> {
  const strategy = strategyForRun(options.strategy, options.scenario, options.maxSteps, options.pctDepth);
  const schedules = new Set<number>();
  const started = performance.now();
  let totalSteps = 0;
  let i = 0;
  let failure: RunResult | undefined;
  for (; i < options.iterations; i++) {
    if (options.timeLimitMs !== undefined && performance.now() - started > options.timeLimitMs) break;
    const result = await runOnce({ scenario: options.scenario, seed: seedFor(options.seed, i), strategy, maxSteps: options.maxSteps });
    schedules.add(result.scheduleHash);
    totalSteps += result.steps;
    options.onProgress?.(i + 1, options.iterations, (performance.now() - started) / 1000);
    if (result.violation) {
      failure = result;
      i++;
      break;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    scenario: options.scenario.name,
    strategy: options.strategy,
    iterations: i,
    seconds,
    perSecond: i / Math.max(seconds, 1e-9),
    distinctSchedules: schedules.size,
    totalSteps,
    ...(failure ? { failure, iterationsToFailure: i, secondsToFailure: seconds } : {}),
  };
}
