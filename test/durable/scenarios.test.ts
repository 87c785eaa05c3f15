import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDurableBackend } from '../../local-host/durable/create-backend.js';
import type { DurableBackend } from '../../local-host/durable/backend.js';
import { loadFixture } from '../support/fixture-app.js';

let fixture: Awaited<ReturnType<typeof loadFixture>>;
let backend: DurableBackend;

beforeAll(async () => {
  fixture = await loadFixture('durable-app');
  backend = createDurableBackend({ app: fixture.app, invoke: fixture.invoke, hubName: 'scenarios' });
  backend.startDriver();
});
afterAll(() => backend.close());

const historyTypes = (id: string) =>
  (backend.getStatus(id, { showHistory: true })!.historyEvents ?? []).map((e) => e.EventType);

describe('orchestrations through the real durable-functions replay engine', () => {
  it('runs a sequence, keeping custom status and a history of each step', async () => {
    const id = backend.startNew('sequence');
    const done = await backend.waitFor(id);
    expect(done.runtimeStatus).toBe('Completed');
    expect(done.output).toBe('abc');
    expect(done.customStatus).toEqual({ step: 2 });
    expect(historyTypes(id)).toEqual(['ExecutionStarted', 'TaskCompleted', 'TaskCompleted', 'TaskCompleted', 'ExecutionCompleted']);
  });

  it('fans out to 100 activities and fans in', async () => {
    const id = backend.startNew('fanOutFanIn', { input: 100 });
    const done = await backend.waitFor(id);
    expect(done.runtimeStatus).toBe('Completed');
    expect(done.output).toBe(2 * ((99 * 100) / 2));
    expect(historyTypes(id).filter((t) => t === 'TaskCompleted')).toHaveLength(100);
  });

  it('lets an external event win a race against a timer', async () => {
    const id = backend.startNew('timerVsEvent', { input: { timeoutMs: 60_000 } });
    await backend.waitFor(id, (s) => s === 'Running');
    backend.raiseEvent(id, 'approve', { by: 'alice' });
    const done = await backend.waitFor(id);
    expect(done.output).toEqual({ outcome: 'event', value: { by: 'alice' } });
    expect(historyTypes(id)).toContain('EventRaised');
    expect(historyTypes(id)).not.toContain('TimerFired');
  });

  it('lets a timer win a race against an external event', async () => {
    const id = backend.startNew('timerVsEvent', { input: { timeoutMs: 50 } });
    const done = await backend.waitFor(id);
    expect(done.output).toEqual({ outcome: 'timer' });
    expect(historyTypes(id)).toContain('TimerFired');
  });

  it('retries a failing activity until it succeeds', async () => {
    const id = backend.startNew('retrying', { input: { key: 'succeeds', failTimes: 2, maxAttempts: 4 } });
    const done = await backend.waitFor(id);
    expect(done.output).toEqual({ ok: true, result: 'ok after 3' });
    const types = historyTypes(id);
    expect(types.filter((t) => t === 'TaskFailed')).toHaveLength(2);
    expect(types.filter((t) => t === 'TimerFired')).toHaveLength(2);
  });

  it('gives up when retries are exhausted and surfaces the last error', async () => {
    const id = backend.startNew('retrying', { input: { key: 'exhausts', failTimes: 10, maxAttempts: 3 } });
    const done = await backend.waitFor(id);
    expect(done.output).toMatchObject({ ok: false });
    expect((done.output as { message: string }).message).toContain('flaky attempt 3 failed');
    expect(historyTypes(id).filter((t) => t === 'TaskFailed')).toHaveLength(3);
  });

  it('returns a sub-orchestration result to its parent', async () => {
    const id = backend.startNew('parent', { input: { value: 7 } });
    const done = await backend.waitFor(id);
    expect(done.output).toEqual({ ok: true, result: 'child saw 7' });
    expect(backend.getStatus(`${id}:0`)?.runtimeStatus).toBe('Completed');
  });

  it('propagates a sub-orchestration failure to its parent', async () => {
    const id = backend.startNew('parent', { input: { value: 8, fail: true } });
    const done = await backend.waitFor(id);
    expect(done.output).toMatchObject({ ok: false });
    expect((done.output as { message: string }).message).toContain('child refused 8');
    expect(backend.getStatus(`${id}:0`)?.runtimeStatus).toBe('Failed');
  });

  it('carries state across continueAsNew and keeps only the last execution', async () => {
    const id = backend.startNew('counter', { input: { remaining: 4, total: 0 } });
    const done = await backend.waitFor(id);
    expect(done.output).toBe(2 * (4 + 3 + 2 + 1));
    expect(historyTypes(id)).toEqual(['ExecutionStarted', 'ExecutionCompleted']);
  });

  it('terminates during a fan-out and withdraws the queued activities', async () => {
    const id = backend.startNew('slowFanOut', { input: { count: 200, ms: 50 } });
    await backend.waitFor(id, (s) => s === 'Running');
    backend.terminate(id, 'enough');
    const done = await backend.waitFor(id);
    expect(done.runtimeStatus).toBe('Terminated');
    expect(done.output).toBe('enough');
    const completed = historyTypes(id).filter((t) => t === 'TaskCompleted').length;
    expect(completed).toBeLessThan(200);
    // Nothing of this instance is left to run.
    expect(backend.readyWork().filter((w) => w.instanceId === id)).toEqual([]);
  });

  it('suspends and resumes, holding events while suspended', async () => {
    const id = backend.startNew('timerVsEvent', { input: { timeoutMs: 60_000 } });
    await backend.waitFor(id, (s) => s === 'Running');
    backend.suspend(id, 'hold');
    await backend.waitFor(id, (s) => s === 'Suspended');
    backend.raiseEvent(id, 'approve', 'late');
    await new Promise((r) => setTimeout(r, 100));
    expect(backend.getStatus(id)!.runtimeStatus).toBe('Suspended');
    backend.resume(id, 'go');
    const done = await backend.waitFor(id);
    expect(done.output).toEqual({ outcome: 'event', value: 'late' });
  });

  it('fails an orchestrator that throws, with its message', async () => {
    const id = backend.startNew('failing');
    const done = await backend.waitFor(id);
    expect(done.runtimeStatus).toBe('Failed');
    expect(String(done.output)).toContain('the orchestrator gave up');
  });

  it('fails a non-deterministic orchestrator with an error naming it and the step', async () => {
    const id = backend.startNew('nonDeterministic');
    const done = await backend.waitFor(id);
    expect(done.runtimeStatus).toBe('Failed');
    const message = String(done.output);
    expect(message).toContain("Non-deterministic orchestrator 'nonDeterministic'");
    expect(message).toContain('step 1');
    expect(message).toMatch(/call-0.*call-1/);
  });

  it('rejects unknown orchestrators and duplicate running instance ids', () => {
    expect(() => backend.startNew('noSuchThing')).toThrow(/doesn't exist/);
    const id = backend.startNew('waitForever', { instanceId: 'fixed-id' });
    expect(() => backend.startNew('waitForever', { instanceId: id })).toThrow(/already exists/);
    backend.terminate(id, 'cleanup');
  });
});

describe('crash and restart', () => {
  it('continues every orchestration from its journal after the backend is dropped mid-flight', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fnbatch-durable-'));
    try {
      const first = createDurableBackend({ app: fixture.app, invoke: fixture.invoke, hubName: 'crash', dataDir });
      first.startDriver();
      const id = first.startNew('slowFanOut', { input: { count: 40, ms: 20 } });
      const seq = first.startNew('sequence');
      await first.waitFor(id, (s) => s === 'Running');
      // The process dies: in-memory state and in-flight work are gone, nothing is shut down cleanly.
      first.crash();
      const second = createDurableBackend({ app: fixture.app, invoke: fixture.invoke, hubName: 'crash', dataDir });
      second.startDriver();
      const done = await second.waitFor(id);
      expect(done.runtimeStatus).toBe('Completed');
      expect(done.output).toBe('finished');
      expect((await second.waitFor(seq)).output).toBe('abc');
      second.close();
      first.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
