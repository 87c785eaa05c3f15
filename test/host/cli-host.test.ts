import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureDir } from '../support/fixture-app.js';
import { poll, runHostToFailure, startHostProcess, type HostProcess } from '../support/host-process.js';

describe('fnbatch host runs a Functions v4 app written outside this project, unchanged', () => {
  let host: HostProcess;
  beforeAll(async () => {
    host = await startHostProcess(['--app', fixtureDir('outside-app'), '--in-memory']);
  });
  afterAll(async () => host?.stop());

  it('serves HTTP triggers under the host.json route prefix, with route constraints and function keys', async () => {
    const url = `${host.baseUrl}/v1/greet/ada?shout=yes`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { 'x-functions-key': 'wrong' } })).status).toBe(401);
    const ok = await fetch(url, { headers: { 'x-functions-key': host.functionKey } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-app')).toBe('outside');
    expect(await ok.json()).toEqual({ message: 'hello, ada', shout: true });
    const viaCode = await fetch(`${host.baseUrl}/v1/greet/bob?code=${host.functionKey}`);
    expect(viaCode.status).toBe(200);
    // {name:alpha} does not match digits.
    expect((await fetch(`${host.baseUrl}/v1/greet/123?code=${host.functionKey}`)).status).toBe(404);
  });

  it('prints where its keys are, never the keys: an in-memory host keeps them in an owner-only file', () => {
    const keysFile = /keys: (\S+)/.exec(host.output())![1]!;
    expect(statSync(keysFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(keysFile, 'utf8'))).toEqual({ functionKey: host.functionKey, masterKey: host.masterKey });
    expect(host.output()).not.toContain(host.functionKey);
    expect(host.output()).not.toContain(host.masterKey);
  });

  it('round-trips a binary body byte for byte', async () => {
    const bytes = Buffer.from([0, 255, 1, 254, 10, 13, 0x80]);
    const res = await fetch(`${host.baseUrl}/v1/bytes`, { method: 'POST', body: bytes });
    expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes);
  });

  it('runs timer triggers (runOnStartup and a six-field schedule)', async () => {
    const ticks = await poll(async () => {
      const state = (await (await fetch(`${host.baseUrl}/v1/processed`)).json()) as { ticks: number };
      return state.ticks >= 2 ? state.ticks : undefined;
    }, 'two timer ticks');
    expect(ticks).toBeGreaterThanOrEqual(2);
  });

  it('runs queue triggers on the embedded Azurite, with %setting% queue names and a poison queue', async () => {
    expect((await fetch(`${host.baseUrl}/v1/enqueue`, { method: 'POST', body: JSON.stringify({ job: 1 }) })).status).toBe(202);
    expect((await fetch(`${host.baseUrl}/v1/enqueue`, { method: 'POST', body: JSON.stringify({ poison: true }) })).status).toBe(202);
    const state = await poll(async () => {
      const s = (await (await fetch(`${host.baseUrl}/v1/processed`)).json()) as {
        messages: { message: unknown; dequeueCount: number }[];
        poisoned: number;
      };
      return s.messages.length >= 1 && s.poisoned >= 1 ? s : undefined;
    }, 'a processed and a poisoned message');
    expect(state.messages).toEqual([{ message: { job: 1 }, dequeueCount: 1 }]);
    expect(state.poisoned).toBe(1);
  });
});

describe('fnbatch host takes its function key from FNBATCH_KEY when set', () => {
  it('accepts that key, prints neither it nor the master key, and removes the run-keys file when it stops', async () => {
    const chosen = 'a-key-chosen-by-the-user-0123456789';
    const host = await startHostProcess(['--app', fixtureDir('outside-app'), '--in-memory'], { FNBATCH_KEY: chosen });
    const keysFile = /keys: (\S+)/.exec(host.output())![1]!;
    try {
      expect((await fetch(`${host.baseUrl}/v1/greet/ada`, { headers: { 'x-functions-key': chosen } })).status).toBe(200);
      expect(host.output()).toContain('function key: FNBATCH_KEY');
      expect(host.output()).not.toContain(chosen);
      expect(host.output()).not.toContain(host.masterKey);
    } finally {
      await host.stop();
    }
    expect(existsSync(keysFile)).toBe(false);
  });
});

describe('a broken app fails at start-up with a message naming the function', () => {
  it('reports a bad timer schedule', async () => {
    const { code, output } = await runHostToFailure(['--app', fixtureDir('broken-app'), '--in-memory']);
    expect(code).not.toBe(0);
    expect(output).toMatch(/Function "badSchedule": invalid timer schedule/);
  });

  it('reports a missing app', async () => {
    const { code, output } = await runHostToFailure(['--app', fixtureDir('no-such-app'), '--in-memory']);
    expect(code).not.toBe(0);
    expect(output).toMatch(/No package\.json/);
  });

  it('rejects an unknown option instead of starting with defaults', async () => {
    const { code, output } = await runHostToFailure(['--bogus', 'x', '--in-memory']);
    expect(code).toBe(2);
    expect(output).toMatch(/unknown option --bogus/);
  });

  it('rejects contradictory options', async () => {
    const { code, output } = await runHostToFailure(['--data', '/tmp/x', '--in-memory']);
    expect(code).toBe(2);
    expect(output).toMatch(/cannot be used together/);
  });
});

describe('state survives kill -9 of the host', () => {
  it('continues an orchestration from its history after the process is killed mid-flight', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fnbatch-kill-'));
    try {
      const first = await startHostProcess(['--app', fixtureDir('durable-app'), '--data', dataDir]);
      const started = await fetch(`${first.baseUrl}/api/orchestrators/slowFanOut`, {
        method: 'POST',
        body: JSON.stringify({ count: 30, ms: 150 }),
      });
      const { id } = (await started.json()) as { id: string };
      const statusUrl = (base: string, key: string) =>
        `${base}/runtime/webhooks/durabletask/instances/${id}?showHistory=true&code=${key}`;
      await poll(async () => {
        const s = (await (await fetch(statusUrl(first.baseUrl, first.masterKey))).json()) as { historyEvents: { EventType: string }[] };
        return s.historyEvents.some((e) => e.EventType === 'TaskCompleted') ? true : undefined;
      }, 'some activities to complete');
      await first.stop('SIGKILL');

      const second = await startHostProcess(['--app', fixtureDir('durable-app'), '--data', dataDir]);
      try {
        expect(second.masterKey).toBe(first.masterKey);
        const done = await poll(async () => {
          const s = (await (await fetch(statusUrl(second.baseUrl, second.masterKey))).json()) as {
            runtimeStatus: string;
            output: unknown;
            historyEvents: { EventType: string }[];
          };
          return s.runtimeStatus === 'Completed' ? s : undefined;
        }, 'the orchestration to complete after restart');
        expect(done.output).toBe('finished');
        // Each activity completed exactly once in the orchestration's history: nothing forked.
        expect(done.historyEvents.filter((e) => e.EventType === 'TaskCompleted')).toHaveLength(30);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
