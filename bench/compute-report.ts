// The compute benchmark's printed table, from the measured figures (pure formatting).
import type { MakespanBound } from './compute-dag.js';
import type { FnbatchRun } from './compute-fnbatch.js';
import type { Spread } from './slot-timeline.js';

/** A run's figures, or why there are none. */
export type RunOutcome = FnbatchRun | { error: string };

export interface ThroughputResult {
  tasks: number;
  nodes: number;
  slotsPerNode: number;
  /** The same job run first on the pool, before the measured one: JIT compilation in a fresh host and new agents. */
  firstJob?: RunOutcome;
  fnbatch: RunOutcome;
  ninjaMs?: number;
}

export interface MakespanResult {
  tasks: number;
  nodes: number;
  slotsPerNode: number;
  seed: number;
  bound: MakespanBound;
  /** As ThroughputResult.firstJob. */
  firstJob?: RunOutcome;
  fnbatch: RunOutcome;
  ninjaMs?: number;
}

export interface ComputeReport {
  title: string;
  /** CPU cores of the machine: the host, the agents and the tasks share them. */
  cores: number;
  /** Why the ninja figures are missing, when they are. */
  ninjaMissing?: string;
  /** Absent when only the makespan scenario ran (`--makespan`). */
  throughput?: ThroughputResult;
  makespan: MakespanResult;
}

export const MAKESPAN_TARGET = 1.1;

/** The measured job is the second of the same on its pool. */
const FIRST_JOB_NOTE = 'the same job, run first on the pool: new agents, code not yet compiled (JIT)';

export function formatReport(report: ComputeReport): string {
  const { throughput: t, makespan: m } = report;
  const lines: string[] = [report.title, ''];
  if (report.ninjaMissing) lines.push(`ninja: ${report.ninjaMissing}`, '');

  const tRun = t && completed(t.fnbatch);
  if (t) lines.push(...throughputLines(t, tRun), '');

  const mSlots = m.nodes * m.slotsPerNode;
  const b = m.bound;
  lines.push(`2. Makespan: ${m.tasks}-task random DAG (seed ${m.seed}), sleeps of 50-200 ms, ${m.nodes} nodes x ${m.slotsPerNode} slots (ninja -j${mSlots})`);
  lines.push(
    `   lower bound = max(critical path ${sec(b.criticalPathMs)} s, total work ${sec(b.totalWorkMs)} s / ${mSlots} = ${sec(b.totalWorkMs / mSlots)} s) = ${sec(b.boundMs)} s`,
  );
  lines.push(row('', 'makespan (s)', '/ bound', ''));
  const mRun = completed(m.fnbatch);
  if (mRun) {
    lines.push(row('fnbatch', sec(mRun.wallMs), ratio(mRun.wallMs, b), `submission -> job completed${failures(mRun)}`));
    lines.push(row('fnbatch tasks', sec(mRun.taskSpanMs), ratio(mRun.taskSpanMs, b), 'first task start -> last task end'));
    const tailMs = mRun.wallMs - mRun.firstStartMs - mRun.taskSpanMs;
    lines.push(row('', '', '', `first task started ${sec(mRun.firstStartMs)} s after submission${slotsFull(mRun)}; job completed ${sec(tailMs)} s after the last task end`));
  } else {
    lines.push(row('fnbatch', '-', '-', `did not finish: ${errorOf(m.fnbatch)}`));
  }
  const mFirst = m.firstJob && completed(m.firstJob);
  if (mFirst) lines.push(row('first job', sec(mFirst.wallMs), ratio(mFirst.wallMs, b), FIRST_JOB_NOTE));
  if (m.ninjaMs !== undefined) lines.push(row('ninja', sec(m.ninjaMs), ratio(m.ninjaMs, b), 'ninja start -> exit'));
  if (mRun) {
    const met = mRun.wallMs / b.boundMs <= MAKESPAN_TARGET;
    lines.push(`   target: fnbatch within ${Math.round((MAKESPAN_TARGET - 1) * 100)}% of the lower bound: ${met ? 'met' : 'NOT met'}`);
  }
  lines.push('');

  lines.push(...cpuLines(report, tRun, mRun), '');
  const slots = slotLines(tRun, mRun);
  if (slots.length) lines.push(...slots, '');

  // The breakdown by operation is the throughput run's, or the makespan run's when it ran alone.
  const detailed = t ? tRun : mRun;
  lines.push(
    t
      ? `3. Control-plane requests per task (throughput run, ${t.tasks} tasks; makespan run alongside)`
      : `3. Control-plane requests per task (makespan run, ${m.tasks} tasks)`,
  );
  lines.push(row('', 'throughput', 'makespan', `${t ? 'throughput' : 'makespan'} run by operation`));
  const sources: [string, 'app' | 'agents', string][] = [
    ['app -> store', 'app', 'store'],
    ['app -> queues', 'app', 'queue'],
    ['agents -> queues', 'agents', 'queue'],
    ['agents -> blobs', 'agents', 'blob'],
    ['agents -> API', 'agents', 'api'],
  ];
  for (const [label, side, prefix] of sources) {
    const perRun = (run: FnbatchRun | undefined) => (run ? perTask(total(run[side], prefix), run.tasks) : '-');
    lines.push(row(label, perRun(tRun), perRun(mRun), detailed ? breakdown(detailed[side], prefix, detailed.tasks) : ''));
  }
  lines.push('   (app: counted at the app\'s DocumentStore/WorkQueue adapters; agents: counted at each agent\'s queue, blob and API clients.');
  lines.push('    Durable Functions\' own storage traffic is not included: the local host keeps orchestration state in memory.)');
  return `${lines.join('\n')}\n`;
}

function throughputLines(t: ThroughputResult, tRun: FnbatchRun | undefined): string[] {
  const lines: string[] = [];
  const tSlots = t.nodes * t.slotsPerNode;
  lines.push(`1. Throughput: ${t.tasks} independent /bin/true tasks on ${t.nodes} node x ${t.slotsPerNode} slots (ninja -j${tSlots})`);
  lines.push(row('', 'wall (s)', 'tasks/s', ''));
  const fnRate = tRun ? t.tasks / (tRun.wallMs / 1000) : undefined;
  if (tRun) {
    lines.push(row('fnbatch', sec(tRun.wallMs), fnRate!.toFixed(1), `submission -> job completed${failures(tRun)}`));
    lines.push(row('', '', '', `first task started ${sec(tRun.firstStartMs)} s after submission${slotsFull(tRun)}; tasks ran over ${sec(tRun.taskSpanMs)} s`));
  } else {
    lines.push(row('fnbatch', '-', '-', `did not finish: ${errorOf(t.fnbatch)}`));
  }
  const tFirst = t.firstJob && completed(t.firstJob);
  if (tFirst) lines.push(row('first job', sec(tFirst.wallMs), (t.tasks / (tFirst.wallMs / 1000)).toFixed(1), FIRST_JOB_NOTE));
  if (t.ninjaMs !== undefined) {
    const ninjaRate = t.tasks / (t.ninjaMs / 1000);
    lines.push(row('ninja', sec(t.ninjaMs), ninjaRate.toFixed(1), 'ninja start -> exit'));
    if (fnRate !== undefined) lines.push(`   fnbatch / ninja throughput: ${(fnRate / ninjaRate).toFixed(3)} (ninja is ${(ninjaRate / fnRate).toFixed(1)}x faster)`);
  }
  return lines;
}

/**
 * CPU per task, and the makespan that CPU alone allows: when the control plane, the agents and the
 * work share the machine's cores, a run cannot end before they have all had their CPU time.
 */
function cpuLines(report: ComputeReport, tRun: FnbatchRun | undefined, mRun: FnbatchRun | undefined): string[] {
  const perTaskMs = (ms: number | undefined, run: FnbatchRun) => (ms === undefined ? '-' : (ms / run.tasks).toFixed(1));
  const lines = ['   CPU per task (ms)   host   agents and tasks'];
  for (const [label, run] of [['throughput', tRun], ['makespan', mRun]] as const) {
    if (run) lines.push(`   ${label.padEnd(16)} ${perTaskMs(run.hostCpuMs, run).padStart(6)}   ${perTaskMs(run.agentsCpuMs, run).padStart(6)}`);
  }
  if (mRun?.agentsCpuMs !== undefined && report.cores > 0) {
    const floorMs = (mRun.hostCpuMs + mRun.agentsCpuMs) / report.cores;
    lines.push(`   the makespan run's CPU alone needs ${sec(floorMs)} s on ${report.cores} cores = ${ratio(floorMs, report.makespan.bound)} the bound`);
  }
  lines.push('   (host: the whole host process; agents: their processes and the tasks they ran)');
  return lines;
}

/** Slot time beyond the work: process start and reaping on the node, and hand-offs between tasks. */
function slotLines(tRun: FnbatchRun | undefined, mRun: FnbatchRun | undefined): string[] {
  const cells = (spread: Spread | undefined) =>
    (spread ? [spread.p50, spread.p90, spread.mean].map((v) => v.toFixed(0)) : ['-', '-', '-']).map((v) => v.padStart(9)).join('');
  const row3 = (label: string, a: string, b: string) => `   ${label.padEnd(32)}${a}   ${b}`;
  const columns = ['median', 'p90', 'mean'].map((h) => h.padStart(9)).join('');
  const rows: string[] = [];
  for (const [label, run] of [['throughput', tRun], ['makespan', mRun]] as const) {
    if (run?.overrunMs) rows.push(row3(label, cells(run.overrunMs), cells(run.handoffMs)));
  }
  if (rows.length === 0) return [];
  return [
    row3('slot time beyond the work (ms)', 'ran longer than its command'.padStart(27), 'slot empty between tasks'.padStart(27)),
    row3('', columns, columns),
    ...rows,
    "   (as the nodes recorded each task's start and end; a slot empty for want of ready work counts too)",
    ...emptySlotLines(tRun, mRun),
  ];
}

/** Empty slot time, as time of the whole pool: work the service had but had not started, against none to start. */
function emptySlotLines(tRun: FnbatchRun | undefined, mRun: FnbatchRun | undefined): string[] {
  const row2 = (label: string, a: string, b: string) => `   ${label.padEnd(32)}${a.padStart(24)}${b.padStart(18)}`;
  const rows: string[] = [];
  for (const [label, run] of [['throughput', tRun], ['makespan', mRun]] as const) {
    if (run?.emptyPoolMs) rows.push(row2(label, sec(run.emptyPoolMs.whileReady), sec(run.emptyPoolMs.noneReady)));
  }
  if (rows.length === 0) return [];
  return [
    '',
    row2('slots empty, in pool time (s)', 'while a task was ready', 'with none ready'),
    ...rows,
    '   (empty slot time / slots, submission to the last end; ready: every task it depends on had ended)',
  ];
}

function completed(outcome: RunOutcome): FnbatchRun | undefined {
  return 'error' in outcome ? undefined : outcome;
}

function errorOf(outcome: RunOutcome): string {
  return 'error' in outcome ? outcome.error : '';
}

function row(label: string, a: string, b: string, note: string): string {
  return `   ${label.padEnd(16)} ${a.padStart(12)} ${b.padStart(10)}   ${note}`.trimEnd();
}

function sec(ms: number): string {
  return (ms / 1000).toFixed(2);
}

function ratio(ms: number, bound: MakespanBound): string {
  return (ms / bound.boundMs).toFixed(3);
}

function slotsFull(run: FnbatchRun): string {
  return run.slotsFullMs === undefined ? ', never every slot busy' : `, every slot busy after ${sec(run.slotsFullMs)} s`;
}

function failures(run: FnbatchRun): string {
  return run.failed ? ` (${run.failed} of ${run.tasks} tasks did not succeed)` : '';
}

/** The sum of every operation named `${prefix}.*`. */
export function total(counts: Record<string, number>, prefix: string): number {
  return Object.entries(counts).reduce((sum, [op, n]) => (op.startsWith(`${prefix}.`) ? sum + n : sum), 0);
}

function perTask(count: number, tasks: number): string {
  return tasks ? (count / tasks).toFixed(2) : '-';
}

/** "read 1.00, replace 2.01" for the operations under `prefix`, largest first. */
export function breakdown(counts: Record<string, number>, prefix: string, tasks: number): string {
  return Object.entries(counts)
    .filter(([op]) => op.startsWith(`${prefix}.`))
    .sort(([, a], [, b]) => b - a)
    .map(([op, n]) => `${op.slice(prefix.length + 1)} ${perTask(n, tasks)}`)
    .join(', ');
}
