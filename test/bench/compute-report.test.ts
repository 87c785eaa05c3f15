import { describe, expect, it } from 'vitest';
import type { FnbatchRun } from '../../bench/compute-fnbatch.js';
import { breakdown, formatReport, total, type ComputeReport } from '../../bench/compute-report.js';

const run = (over: Partial<FnbatchRun>): FnbatchRun => ({
  tasks: 100,
  failed: 0,
  wallMs: 10_000,
  taskSpanMs: 9_000,
  firstStartMs: 500,
  app: { 'store.read': 300, 'store.create': 101, 'queue.send': 100 },
  agents: { 'queue.receive': 20, 'queue.delete': 100, 'api.agent/reports': 60 },
  hostCpuMs: 1_200,
  agentsCpuMs: 800,
  ...over,
});

const report = (over: Partial<ComputeReport> = {}): ComputeReport => ({
  title: 'bench',
  cores: 2,
  throughput: { tasks: 100, nodes: 1, slotsPerNode: 8, fnbatch: run({}), ninjaMs: 1_000 },
  makespan: { tasks: 100, nodes: 2, slotsPerNode: 8, seed: 1, bound: { criticalPathMs: 2_000, totalWorkMs: 16_000, boundMs: 2_000 }, fnbatch: run({ wallMs: 2_100 }), ninjaMs: 2_050 },
  ...over,
});

describe('compute report', () => {
  it('prints rates, their ratio, makespans over the bound and the target verdict', () => {
    const text = formatReport(report());
    expect(text).toMatch(/fnbatch\s+10\.00\s+10\.0\s+submission -> job completed/);
    expect(text).toMatch(/ninja\s+1\.00\s+100\.0/);
    expect(text).toContain('fnbatch / ninja throughput: 0.100 (ninja is 10.0x faster)');
    expect(text).toMatch(/fnbatch\s+2\.10\s+1\.050/);
    expect(text).toMatch(/ninja\s+2\.05\s+1\.025/);
    expect(text).toContain('within 10% of the lower bound: met');
    expect(formatReport(report({ makespan: { ...report().makespan, fnbatch: run({ wallMs: 2_300 }) } }))).toContain('NOT met');
  });

  it('says when every slot of the pool was first busy, or that none ever was', () => {
    const text = formatReport(report({ makespan: { ...report().makespan, fnbatch: run({ wallMs: 2_100, slotsFullMs: 640 }) } }));
    expect(text).toContain('first task started 0.50 s after submission, every slot busy after 0.64 s; job completed');
    expect(text).toContain('first task started 0.50 s after submission, never every slot busy; tasks ran over 9.00 s');
  });

  it('prints requests per task by side and operation', () => {
    const text = formatReport(report());
    expect(text).toMatch(/app -> store\s+4\.01\s+4\.01\s+read 3\.00, create 1\.01/);
    expect(text).toMatch(/agents -> queues\s+1\.20\s+1\.20\s+delete 1\.00, receive 0\.20/);
    expect(total({ 'queue.a': 1, 'queue.b': 2, 'store.a': 5 }, 'queue')).toBe(3);
    expect(breakdown({ 'api.x': 1, 'api.y': 3 }, 'api', 2)).toBe('y 1.50, x 0.50');
  });

  it('prints CPU per task and the makespan the CPU alone allows on the machine\'s cores', () => {
    const text = formatReport(report());
    expect(text).toMatch(/throughput\s+12\.0\s+8\.0/);
    // (1,200 + 800 ms) / 2 cores = 1.00 s, half the 2.00 s bound.
    expect(text).toContain("the makespan run's CPU alone needs 1.00 s on 2 cores = 0.500 the bound");
    expect(formatReport(report({ makespan: { ...report().makespan, fnbatch: run({ wallMs: 2_100, agentsCpuMs: undefined }) } }))).not.toContain('CPU alone');
  });

  it('says why a run has no figures, and when ninja is missing', () => {
    const text = formatReport(report({ ninjaMissing: 'not installed', throughput: { ...report().throughput!, fnbatch: { error: 'job stalled' }, ninjaMs: undefined } }));
    expect(text).toContain('ninja: not installed');
    expect(text).toMatch(/fnbatch\s+-\s+-\s+did not finish: job stalled/);
    expect(text).not.toContain('fnbatch / ninja throughput');
  });

  it('prints the makespan run alone, with its own requests by operation', () => {
    const { throughput: _left, ...rest } = report();
    const makespanRun = run({ wallMs: 2_100, agents: { 'queue.receive': 40, 'queue.delete': 100, 'api.agent/reports': 150 } });
    const text = formatReport({ ...rest, makespan: { ...rest.makespan, fnbatch: makespanRun } });
    expect(text).not.toContain('1. Throughput');
    expect(text).toMatch(/fnbatch\s+2\.10\s+1\.050/);
    expect(text).toContain('3. Control-plane requests per task (makespan run, 100 tasks)');
    expect(text).toMatch(/agents -> queues\s+-\s+1\.40\s+delete 1\.00, receive 0\.40/);
    expect(text).toMatch(/agents -> API\s+-\s+1\.50\s+agent\/reports 1\.50/);
  });

  it('prints where slot time went beyond the work, for the runs that recorded it', () => {
    const timed = run({ overrunMs: { p50: 27, p90: 59, mean: 31.7, count: 100 }, handoffMs: { p50: 20, p90: 54, mean: 27.1, count: 84 } });
    const text = formatReport(report({ makespan: { ...report().makespan, fnbatch: timed } }));
    expect(text).toMatch(/makespan\s+27\s+59\s+32\s+20\s+54\s+27/);
    expect(text).not.toMatch(/throughput\s+\d+\s+\d+\s+\d+\s+-/);
    expect(formatReport(report())).not.toContain('slot time beyond the work');
  });

  it('prints the empty slot time, as time of the pool, by whether a task was ready', () => {
    const timed = run({ overrunMs: { p50: 2, p90: 5, mean: 3, count: 100 }, emptyPoolMs: { whileReady: 340, noneReady: 110 } });
    const text = formatReport(report({ makespan: { ...report().makespan, fnbatch: timed } }));
    expect(text).toMatch(/slots empty, in pool time \(s\)\s+while a task was ready\s+with none ready/);
    expect(text).toMatch(/makespan\s+0\.34\s+0\.11/);
    expect(formatReport(report())).not.toContain('slots empty');
  });

  it('prints the first job on each pool beside the measured one', () => {
    const base = report();
    const text = formatReport({
      ...base,
      throughput: { ...base.throughput!, firstJob: run({ wallMs: 20_000 }) },
      makespan: { ...base.makespan, firstJob: run({ wallMs: 3_000 }) },
    });
    expect(text).toMatch(/first job\s+20\.00\s+5\.0\s+the same job, run first on the pool/);
    expect(text).toMatch(/first job\s+3\.00\s+1\.500\s+the same job, run first on the pool/);
    // The verdict is the measured job's.
    expect(text).toContain('within 10% of the lower bound: met');
    expect(formatReport(base)).not.toContain('first job');
  });
});
