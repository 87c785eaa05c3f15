// npm run sim -- [--iterations N] [--seed S] [--strategy random|pct|portfolio] [--scenario NAME|all]
//                [--max-steps N] [--pct-depth D] [--time-limit SECONDS] [--replay SEED] [--defect NAME]
// Explores the scenarios (the clean ones unless one is named) and prints, per scenario, iterations
// per second and distinct schedules; on a violation, the seed, the monitor and the trace, and exits 1.
// --replay SEED reruns one seed of one scenario with its full trace.
import { fileURLToPath } from 'node:url';
import { enableDefects, DEFECT_NAMES } from './defect-switches.js';
import { formatFailure } from './report.js';
import { explore, runOnce } from './runner.js';
import { CLEAN_SCENARIOS, SCENARIOS, scenarioNamed } from './scenarios.js';
import { progressLine } from './progress-line.js';
import { strategyForRun } from './runner.js';
import type { StrategyName } from './strategies.js';

export interface SimArgs {
  iterations: number;
  seed: number;
  strategy: StrategyName;
  scenarios: string[];
  maxSteps?: number;
  pctDepth: number;
  timeLimitMs?: number;
  replay?: number;
  defects: string[];
}

export function parseArgs(argv: string[], now = Date.now()): SimArgs {
  const args: SimArgs = { iterations: 100, seed: now >>> 0, strategy: 'portfolio', scenarios: CLEAN_SCENARIOS, pctDepth: 3, defects: [] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const int = () => {
      const v = Number(value());
      if (!Number.isInteger(v) || v < 0) throw new Error(`${flag} needs a non-negative integer`);
      return v;
    };
    switch (flag) {
      case '--iterations':
        args.iterations = int();
        break;
      case '--seed':
        args.seed = int() >>> 0;
        break;
      case '--strategy': {
        const v = value();
        if (v !== 'random' && v !== 'pct' && v !== 'portfolio') throw new Error('--strategy is random, pct or portfolio');
        args.strategy = v;
        break;
      }
      case '--scenario': {
        const v = value();
        args.scenarios = v === 'all' ? Object.keys(SCENARIOS) : v.split(',').map((n) => scenarioNamed(n).name);
        break;
      }
      case '--max-steps':
        args.maxSteps = int();
        break;
      case '--pct-depth':
        args.pctDepth = Math.max(1, int());
        break;
      case '--time-limit':
        args.timeLimitMs = int() * 1000;
        break;
      case '--replay':
        args.replay = int() >>> 0;
        break;
      case '--defect': {
        const v = value();
        if (!DEFECT_NAMES.includes(v)) throw new Error(`unknown defect '${v}'; known: ${DEFECT_NAMES.join(', ')}`);
        args.defects.push(v);
        break;
      }
      default:
        throw new Error(`unknown option ${flag}`);
    }
  }
  return args;
}

export async function main(argv: string[], out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  const args = parseArgs(argv);
  enableDefects(args.defects);
  if (args.replay !== undefined) {
    const scenario = scenarioNamed(args.scenarios.length === 1 ? args.scenarios[0]! : 'dag-faults');
    const strategy = strategyForRun(args.strategy, scenario, args.maxSteps, args.pctDepth);
    const result = await runOnce({ scenario, seed: args.replay, strategy, maxSteps: args.maxSteps });
    out(`replay of seed ${args.replay}, scenario ${scenario.name}, ${result.strategy}: ${result.steps} steps, ${(result.virtualMs / 1000).toFixed(1)} s virtual`);
    for (const line of result.trace) out(line);
    out(`end state: ${result.summary}`);
    out(`schedule hash ${result.scheduleHash.toString(16)}`);
    if (result.violation) {
      out(`VIOLATION ${result.violation.monitor}: ${result.violation.message}`);
      return 1;
    }
    out('no violation');
    return 0;
  }
  out(`fnbatch simulator: seed ${args.seed}, strategy ${args.strategy}, ${args.iterations} iteration(s) per scenario${args.defects.length ? `, defects on: ${args.defects.join(', ')}` : ''}`);
  let failed = false;
  for (const name of args.scenarios) {
    const scenario = scenarioNamed(name);
    const progress = progressLine(name);
    const result = await explore({
      scenario,
      strategy: args.strategy,
      iterations: args.iterations,
      seed: args.seed,
      maxSteps: args.maxSteps,
      timeLimitMs: args.timeLimitMs,
      pctDepth: args.pctDepth,
      onProgress: (done, total, seconds) => progress.update(done, total, seconds),
    });
    progress.end();
    out(
      `${name.padEnd(22)} ${String(result.iterations).padStart(6)} it  ${result.perSecond.toFixed(1).padStart(7)} it/s  ` +
        `${String(result.distinctSchedules).padStart(6)} distinct schedules  ${(result.totalSteps / Math.max(1, result.iterations)).toFixed(0).padStart(5)} steps/it` +
        (result.failure ? '  VIOLATION' : ''),
    );
    if (result.failure) {
      failed = true;
      for (const line of formatFailure(result.failure, args.strategy, 80)) out(line);
    }
  }
  return failed ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(2);
    },
  );
}
