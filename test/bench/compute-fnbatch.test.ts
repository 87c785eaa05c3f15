// The benchmark's fnbatch runner on the real local host with real agent processes. It is loaded
// from dist/ (npm test builds first) because it must share the module instance of the app's
// context with the compiled app the host loads; the source-side module would be a second copy.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchTask } from '../../bench/compute-dag.js';
import type { FnbatchBench } from '../../bench/compute-fnbatch.js';
import { repoRoot } from '../support/fnbatch-host.js';

type Module = typeof import('../../bench/compute-fnbatch.js');
let bench: FnbatchBench;
const LIMITS = { timeoutMs: 120_000, stallMs: 60_000 };

beforeAll(async () => {
  const { startFnbatchBench } = (await import(pathToFileURL(path.join(repoRoot, 'dist', 'bench', 'compute-fnbatch.js')).href)) as Module;
  bench = await startFnbatchBench();
  await bench.createPool('bench-test', 1, 2);
}, 120_000);

afterAll(async () => {
  await bench?.stop();
});

describe('fnbatch benchmark runner', () => {
  it('times a job end to end and counts the app\'s and the agents\' requests', async () => {
    const tasks: BenchTask[] = [
      { id: 'a', durationMs: 300, deps: [] },
      { id: 'b', durationMs: 300, deps: ['a'] },
      { id: 'c', durationMs: 0, deps: [] },
      { id: 'd', durationMs: 0, deps: [] },
    ];
    const run = await bench.runJob('bench-test', 'small', tasks, LIMITS);
    expect(run.tasks).toBe(4);
    expect(run.failed).toBe(0);
    // The chain a -> b cannot finish sooner than its two sleeps.
    expect(run.taskSpanMs).toBeGreaterThanOrEqual(600);
    expect(run.wallMs).toBeGreaterThanOrEqual(run.taskSpanMs);
    // The job was written through the counted store, and its four tasks in one batch; each task was queued.
    expect(run.app['store.create']).toBeGreaterThanOrEqual(1);
    expect(run.app['store.createMany']).toBe(1);
    expect(run.app['queue.send']).toBeGreaterThanOrEqual(4);
    // The agent, counting at its own clients, took the messages off the queue and reported to the API.
    expect(run.agents['queue.receive']).toBeGreaterThanOrEqual(1);
    expect(run.agents['queue.delete']).toBeGreaterThanOrEqual(4);
    // Claims and ends travel in agent/reports calls (each call carries one or more of them).
    expect(run.agents['api.agent/reports']).toBeGreaterThanOrEqual(2);
    // The host and the agent (with the task processes it ran) spent CPU on the run.
    expect(run.hostCpuMs).toBeGreaterThan(0);
    if (process.platform === 'linux') expect(run.agentsCpuMs).toBeGreaterThan(0);
    // Every task's recorded run is timed against its command; the two tasks after the first two
    // on the 2-slot node each took a freed slot.
    expect(run.overrunMs?.count).toBe(4);
    expect(run.overrunMs!.p50).toBeGreaterThanOrEqual(0);
    expect(run.handoffMs?.count).toBe(2);
    // Slots stood empty with tasks ready at the start (submission to the first starts), and with
    // none ready while b, the last, ran alone for 300 ms: one of the two slots, 150 ms of pool time.
    expect(run.emptyPoolMs!.whileReady).toBeGreaterThan(0);
    expect(run.emptyPoolMs!.noneReady).toBeGreaterThanOrEqual(100);
  });

  it('counts each run from zero', async () => {
    const run = await bench.runJob('bench-test', 'tiny', [{ id: 'only', durationMs: 0, deps: [] }], LIMITS);
    expect(run.tasks).toBe(1);
    expect(run.app['store.create']).toBeLessThan(5);
    expect(run.agents['queue.delete']).toBeGreaterThanOrEqual(1);
  });

  it('gives up on a job whose agents go quiet, naming the unfinished task', async () => {
    const slow: BenchTask[] = [{ id: 'slow', durationMs: 8_000, deps: [] }];
    await expect(bench.runJob('bench-test', 'quiet', slow, { timeoutMs: 120_000, stallMs: 1_500 })).rejects.toThrow(
      /job quiet stalled: no agent claimed or completed a task for 2 s; 1 task\(s\) not completed: slow \(running on bench-test-d1/,
    );
  });

  it('deletes a pool', async () => {
    await bench.deletePool('bench-test');
  });
});
