// npm run sim:bugs -- [--iterations N] [--seed S] [--only NAME,...]
// The bug benchmark: for each defect in the catalogue, switch it on and explore its scenario with
// random and with PCT search; print whether each found it, after how many iterations and seconds.
import { fileURLToPath } from 'node:url';
import { DEFECTS, enableDefects, type DefectInfo } from './defect-switches.js';
import { explore, type ExploreResult } from './runner.js';
import { scenarioNamed } from './scenarios.js';
import type { StrategyName } from './strategies.js';

export interface BugResult {
  defect: DefectInfo;
  byStrategy: Partial<Record<StrategyName, ExploreResult>>;
}

export async function runBugBenchmark(options: {
  iterations: number;
  seed: number;
  strategies?: StrategyName[];
  only?: string[];
  timeLimitMs?: number;
  onResult?: (result: BugResult) => void;
}): Promise<BugResult[]> {
  const strategies = options.strategies ?? ['random', 'pct'];
  const results: BugResult[] = [];
  try {
    for (const defect of DEFECTS) {
      if (options.only && !options.only.includes(defect.name)) continue;
      enableDefects([defect.name]);
      const byStrategy: BugResult['byStrategy'] = {};
      for (const strategy of strategies) {
        byStrategy[strategy] = await explore({
          scenario: scenarioNamed(defect.scenario),
          strategy,
          iterations: options.iterations,
          seed: options.seed,
          timeLimitMs: options.timeLimitMs,
        });
      }
      const result = { defect, byStrategy };
      results.push(result);
      options.onResult?.(result);
    }
  } finally {
    enableDefects([]);
  }
  return results;
}

export function formatBugRow(result: BugResult, strategies: StrategyName[] = ['random', 'pct']): string {
  const cells = strategies.map((s) => {
    const r = result.byStrategy[s];
    if (!r) return ''.padEnd(34);
    if (!r.failure) return `not found (${r.iterations} it, ${r.seconds.toFixed(1)} s)`.padEnd(34);
    return `found at it ${r.iterationsToFailure} (${r.secondsToFailure!.toFixed(1)} s) ${r.failure.violation!.monitor}`.padEnd(34);
  });
  return `${result.defect.name.padEnd(30)} ${result.defect.scenario.padEnd(13)} ${cells.join(' | ')}`;
}

async function main(argv: string[]): Promise<number> {
  let iterations = 1000;
  let seed = Date.now() >>> 0;
  let only: string[] | undefined;
  let timeLimitMs: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--iterations') iterations = Number(value);
    else if (flag === '--seed') seed = Number(value) >>> 0;
    else if (flag === '--only') only = value.split(',');
    else if (flag === '--time-limit') timeLimitMs = Number(value) * 1000;
    else throw new Error(`unknown option ${flag}`);
  }
  process.stdout.write(`bug benchmark: seed ${seed}, up to ${iterations} iterations per defect and strategy\n`);
  process.stdout.write(`${'defect'.padEnd(30)} ${'scenario'.padEnd(13)} ${'random'.padEnd(34)} | pct\n`);
  const results = await runBugBenchmark({ iterations, seed, only, timeLimitMs, onResult: (r) => process.stdout.write(`${formatBugRow(r)}\n`) });
  const missed = results.filter((r) => Object.values(r.byStrategy).every((x) => !x?.failure));
  process.stdout.write(`${results.length - missed.length} of ${results.length} defects found${missed.length ? `; missed: ${missed.map((m) => m.defect.name).join(', ')}` : ''}\n`);
  return missed.length ? 1 : 0;
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
