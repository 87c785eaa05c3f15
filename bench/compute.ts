// Benchmark (GitHub issue 4): fnbatch on local agent processes against ninja running the same
// commands. 1) throughput of independent no-op tasks on one 8-slot node; 2) makespan of a seeded
// random DAG of short sleeps on 2 x 8 slots, over its lower bound; 3) control-plane requests per
// task. Each scenario runs its job twice on the same pool and measures the second: the first pays
// for compiling the hot code (JIT) in a fresh host and in the pool's new agents, once in a
// service's life; its time is printed too. Prints figures only; nothing is asserted.
//   npm run build && node dist/bench/compute.js [--quick] [--makespan]
// --makespan runs only the makespan scenario (and its ninja reference): under a minute instead of
// three, for comparing builds run after run on a machine whose speed drifts.
import os from 'node:os';
import { makespanLowerBound, noOpTasks, randomSleepDag } from './compute-dag.js';
import { startFnbatchBench, type FnbatchRun } from './compute-fnbatch.js';
import { findNinja, ninjaVersion, runNinja } from './compute-ninja.js';
import { formatReport, type RunOutcome } from './compute-report.js';

const quick = process.argv.includes('--quick');
const makespanOnly = process.argv.includes('--makespan');
const SIZES = quick ? { throughputTasks: 200, dagTasks: 100 } : { throughputTasks: 2000, dagTasks: 1000 };
const THROUGHPUT = { nodes: 1, slotsPerNode: 8 };
const MAKESPAN = { nodes: 2, slotsPerNode: 8, seed: 4 };
// Generous: a slow machine only makes the figures worse. A job with no claim or completion for a
// minute is stuck (its tasks take at most 200 ms), not slow.
const LIMITS = { timeoutMs: 30 * 60_000, stallMs: 60_000 };

function progress(line: string): void {
  process.stderr.write(`[compute] ${line}\n`);
}

async function main(): Promise<void> {
  const throughputTasks = noOpTasks(SIZES.throughputTasks);
  const dag = randomSleepDag(SIZES.dagTasks, MAKESPAN.seed);
  const bound = makespanLowerBound(dag, MAKESPAN.nodes * MAKESPAN.slotsPerNode);

  // ninja first, while nothing else runs on the machine.
  const ninja = findNinja();
  let ninjaThroughputMs: number | undefined;
  let ninjaDagMs: number | undefined;
  if (ninja) {
    if (!makespanOnly) {
      progress(`ninja: ${throughputTasks.length} no-op tasks, -j${THROUGHPUT.nodes * THROUGHPUT.slotsPerNode}`);
      ninjaThroughputMs = (await runNinja(ninja, throughputTasks, THROUGHPUT.nodes * THROUGHPUT.slotsPerNode)).wallMs;
    }
    progress(`ninja: ${dag.length}-task DAG, -j${MAKESPAN.nodes * MAKESPAN.slotsPerNode}`);
    ninjaDagMs = (await runNinja(ninja, dag, MAKESPAN.nodes * MAKESPAN.slotsPerNode)).wallMs;
  } else {
    progress('ninja is not installed (apt-get install -y ninja-build); its columns are left out');
  }

  progress('starting the fnbatch local host');
  const fnbatch = await startFnbatchBench();
  try {
    const throughputRun = makespanOnly ? undefined : await scenario(`pool of ${THROUGHPUT.nodes} x ${THROUGHPUT.slotsPerNode} slots, ${throughputTasks.length} no-op tasks`, async (record) => {
      await fnbatch.createPool('bench-throughput', THROUGHPUT.nodes, THROUGHPUT.slotsPerNode);
      try {
        await twice((jobId) => fnbatch.runJob('bench-throughput', jobId, throughputTasks, LIMITS), 'throughput', record);
      } finally {
        // Its idle agent would otherwise poll the queues through the next scenario.
        await fnbatch.deletePool('bench-throughput').catch((err: Error) => progress(`could not delete the throughput pool: ${err.message}`));
      }
    });
    const dagRun = await scenario(`pool of ${MAKESPAN.nodes} x ${MAKESPAN.slotsPerNode} slots, ${dag.length}-task DAG`, async (record) => {
      await fnbatch.createPool('bench-makespan', MAKESPAN.nodes, MAKESPAN.slotsPerNode);
      await twice((jobId) => fnbatch.runJob('bench-makespan', jobId, dag, LIMITS), 'makespan', record);
    });

    const cpus = os.cpus();
    process.stdout.write(
      formatReport({
        cores: cpus.length,
        title: `fnbatch compute benchmark (${quick ? 'quick' : 'full'}${makespanOnly ? ', makespan only' : ''}): Node ${process.version}, ${cpus.length} CPU(s) ${cpus[0]?.model ?? ''}, ${ninja ? `ninja ${ninjaVersion(ninja)}` : 'no ninja'}`.replace(/\s+/g, ' '),
        ninjaMissing: ninja ? undefined : 'not installed (apt-get install -y ninja-build); ninja figures are left out',
        ...(throughputRun ? { throughput: { tasks: throughputTasks.length, ...THROUGHPUT, ...throughputRun, ninjaMs: ninjaThroughputMs } } : {}),
        makespan: { tasks: dag.length, ...MAKESPAN, bound, ...dagRun, ninjaMs: ninjaDagMs },
      }),
    );
  } finally {
    await fnbatch.stop();
  }
}

interface ScenarioRuns {
  /** The first job on the pool: cold host code and new agents. */
  firstJob: RunOutcome;
  /** The same job again, measured. */
  fnbatch: RunOutcome;
}

type RecordRun = (which: keyof ScenarioRuns, run: FnbatchRun) => void;

/** One fnbatch scenario; a failure is reported in the table and the next scenario still runs. */
async function scenario(what: string, run: (record: RecordRun) => Promise<void>): Promise<ScenarioRuns> {
  progress(`fnbatch: ${what}`);
  const runs: Partial<ScenarioRuns> = {};
  try {
    await run((which, outcome) => (runs[which] = outcome));
  } catch (err) {
    const error = (err as Error).message;
    progress(`fnbatch: ${what} failed: ${error}`);
    return { firstJob: runs.firstJob ?? { error }, fnbatch: { error } };
  }
  return { firstJob: runs.firstJob!, fnbatch: runs.fnbatch! };
}

/** The job twice on one pool, the second one measured. */
async function twice(run: (jobId: string) => Promise<FnbatchRun>, jobId: string, record: RecordRun): Promise<void> {
  progress(`  ${jobId}-first: the first job on the pool`);
  record('firstJob', await run(`${jobId}-first`));
  progress(`  ${jobId}: the same job again, measured`);
  record('fnbatch', await run(jobId));
}

main().then(
  // Clients the app opened (Cosmos keep-alive sockets) may outlive the host; the figures are out.
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
