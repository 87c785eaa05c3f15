// Benchmark: how soon a job submitted to an idle pool starts. One local node (an agent process)
// sits idle for a while (plus a random part of its polling period), then gets a one-task job
// (/bin/true); we time submission -> the task's start and submission -> the job's completion.
// Idle for 1 s the node is still polling often (it had work recently); idle for 12 s it polls at
// its slowest (every 0.5 s). The same rounds run on a host that offers its nodes the work signal
// (the local host's default) and on one that does not, where nodes find work only by polling
// their queues, as on Azure. Each side runs in a process of its own (one local host per process).
//   npm run build && node dist/bench/idle-start.js        (BENCH_ROUNDS=8 by default)
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startFnbatchBench } from './compute-fnbatch.js';
import { noOpTasks } from './compute-dag.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 8);
/** The longest time between an idle node's polls (agent/agent.ts, pollMaxMs). */
const POLL_PERIOD_MAX_MS = 500;
const IDLE_GAPS_MS = [1_000, 12_000];
const LIMITS = { timeoutMs: 120_000, stallMs: 60_000 };

interface Figures {
  startMs: number[];
  doneMs: number[];
}

function progress(line: string): void {
  process.stderr.write(`[idle-start] ${line}\n`);
}

async function measure(workSignal: boolean): Promise<Map<number, Figures>> {
  const label = workSignal ? 'work signal' : 'polling only';
  progress(`starting a host (${label})`);
  const fnbatch = await startFnbatchBench({ workSignal });
  const figures = new Map<number, Figures>(IDLE_GAPS_MS.map((gap) => [gap, { startMs: [], doneMs: [] }]));
  try {
    await fnbatch.createPool('bench-idle', 1, 1);
    // The first job pays for compiling the hot code in the host and the agent: not counted.
    await fnbatch.runJob('bench-idle', 'warm-up', noOpTasks(1), LIMITS);
    for (let round = 1; round <= rounds; round++) {
      for (const gap of IDLE_GAPS_MS) {
        // A node polls at a steady pace, so without a jitter every submission would fall at the
        // same point between two polls.
        await new Promise((resolve) => setTimeout(resolve, gap + Math.random() * POLL_PERIOD_MAX_MS));
        const run = await fnbatch.runJob('bench-idle', `idle-${gap}-${round}`, noOpTasks(1), LIMITS);
        figures.get(gap)!.startMs.push(run.firstStartMs);
        figures.get(gap)!.doneMs.push(run.wallMs);
        progress(`${label}, idle ${gap / 1000} s, round ${round}: started after ${run.firstStartMs.toFixed(0)} ms, completed after ${run.wallMs.toFixed(0)} ms`);
      }
    }
  } finally {
    await fnbatch.stop();
  }
  return figures;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs one side in a child process and reads its figures. */
function side(workSignal: boolean): Map<number, Figures> {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--side', workSignal ? 'signal' : 'polling'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  return new Map(JSON.parse(out) as [number, Figures][]);
}

async function main(): Promise<void> {
  const sideArg = process.argv.indexOf('--side');
  if (sideArg >= 0) {
    process.stdout.write(JSON.stringify([...(await measure(process.argv[sideArg + 1] === 'signal'))]));
    return;
  }
  const signalled = side(true);
  const polling = side(false);
  const lines = [
    `Idle pool -> task start: 1 node, one /bin/true task per job, ${rounds} rounds per idle time (medians, then min-max)`,
    '',
    '  node idle for   host                 submission -> task start      submission -> job completed',
  ];
  for (const gap of IDLE_GAPS_MS) {
    for (const [label, figures] of [['work signal', signalled], ['polling only', polling]] as const) {
      const { startMs, doneMs } = figures.get(gap)!;
      const cell = (values: number[]) => `${median(values).toFixed(0).padStart(5)} ms (${Math.min(...values).toFixed(0)}-${Math.max(...values).toFixed(0)})`;
      lines.push(`  ${`${gap / 1000} s`.padEnd(14)}  ${label.padEnd(19)}  ${cell(startMs).padEnd(28)}  ${cell(doneMs)}`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
