// How a failing run is shown: what failed, how to replay it, and the steps that led there.
import type { RunResult } from './runner.js';

export function formatFailure(run: RunResult, strategy: string, tail: number): string[] {
  const lines = [
    `  seed ${run.seed} (${run.strategy}), scenario ${run.scenario}: ${run.violation!.monitor}`,
    `  ${run.violation!.message}`,
    `  end state: ${run.summary}`,
    `  replay: npm run sim -- --scenario ${run.scenario} --strategy ${strategy} --replay ${run.seed}`,
    `  last ${Math.min(tail, run.trace.length)} of ${run.trace.length} trace lines:`,
  ];
  for (const line of run.trace.slice(-tail)) lines.push(`    ${line}`);
  return lines;
}
