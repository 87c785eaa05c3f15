import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NodeSpawnLauncher } from '../../agent/launchers/node-spawn.js';
import { PosixSpawnLauncher } from '../../agent/launchers/posix-spawn.js';
import { startLauncher } from '../../agent/launchers/start-launcher.js';
import { isProcessAlive, waitFor } from '../agent/support/fixtures.js';
import { processLauncherConformance, textOrEmpty } from './process-launcher.suite.js';

/** SIGKILL to the posix-spawn helper that started `pid`. */
function killHelperOf(pid: number): void {
  const helper = spawnSync('ps', ['-o', 'ppid=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim();
  process.kill(Number(helper), 'SIGKILL');
}

processLauncherConformance('node-spawn', async () => new NodeSpawnLauncher());
processLauncherConformance('posix-spawn', () => PosixSpawnLauncher.start());

describe('node-spawn launcher', () => {
  it('has no standby: every process starts when launched', () => {
    const launcher = new NodeSpawnLauncher();
    expect(launcher.standby).toBe(false);
    expect(() => launcher.launch({ argv: ['/bin/true'], cwd: os.tmpdir(), env: {}, stdoutPath: '/dev/null', stderrPath: '/dev/null', killGroupOnExit: false }, { standby: true })).toThrow(/standby/);
  });
});

describe('posix-spawn launcher', () => {
  it('reports the processes of a helper that died as lost, kills them, and starts a new helper', async () => {
    const launcher = await PosixSpawnLauncher.start();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fnbatch-launcher-'));
    try {
      const files = { cwd: dir, env: { PATH: '/usr/bin:/bin' }, stdoutPath: path.join(dir, 'o'), stderrPath: path.join(dir, 'e'), killGroupOnExit: true };
      const long = launcher.launch({ argv: ['/bin/sleep', '60'], ...files });
      await waitFor(() => long.pid, 'the helper to tell the pid');
      killHelperOf(long.pid!);
      expect(await long.exit).toMatchObject({ kind: 'lost' });
      await waitFor(() => !isProcessAlive(long.pid!), 'the orphaned process to be killed');
      expect(await launcher.launch({ argv: ['/bin/sh', '-c', 'exit 5'], ...files }).exit).toMatchObject({ kind: 'exited', code: 5 });
      await launcher.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('standby: a process started in the slot of the next one to exit', () => {
    let launcher: PosixSpawnLauncher;
    let dir: string;
    const run = (name: string, script: string, more: { slots?: number } = {}) => ({
      argv: ['/bin/sh', '-c', script],
      cwd: dir,
      env: { PATH: '/usr/bin:/bin' },
      stdoutPath: path.join(dir, `${name}.out`),
      stderrPath: path.join(dir, `${name}.err`),
      killGroupOnExit: true,
      ...more,
    });
    beforeEach(async () => {
      launcher = await PosixSpawnLauncher.start();
      dir = await mkdtemp(path.join(os.tmpdir(), 'fnbatch-standby-'));
    });
    afterEach(async () => {
      await launcher.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('starts standby processes in order, each in the slot of a process that exits, and tells when', async () => {
      const first = launcher.launch(run('first', 'sleep 0.3'));
      const second = launcher.launch(run('second', 'echo second; sleep 0.3'), { standby: true });
      const third = launcher.launch(run('third', 'echo third'), { standby: true });
      const firstEnd = await first.exit;
      // The exit gave its slot to the first in line, which started before the exit was told.
      expect(firstEnd).toMatchObject({ kind: 'exited', code: 0, handed: 1 });
      const secondStart = await second.started;
      expect(secondStart).toBeGreaterThanOrEqual((firstEnd as { at: number }).at);
      expect(textOrEmpty(path.join(dir, 'third.out'))).toBe('');
      const secondEnd = await second.exit;
      expect(secondEnd).toMatchObject({ kind: 'exited', code: 0, handed: 1 });
      expect(await third.started).toBeGreaterThanOrEqual((secondEnd as { at: number }).at);
      expect(await third.exit).toMatchObject({ kind: 'exited', code: 0 });
      expect(await third.exit).not.toHaveProperty('handed');
      expect(textOrEmpty(path.join(dir, 'third.out'))).toBe('third\n');
    });

    it('gives a process of two slots to two standby processes when it exits', async () => {
      const wide = launcher.launch(run('wide', 'sleep 0.2', { slots: 2 }));
      const a = launcher.launch(run('a', 'sleep 0.2'), { standby: true });
      const b = launcher.launch(run('b', 'sleep 0.2'), { standby: true });
      expect(await wide.exit).toMatchObject({ kind: 'exited', handed: 2 });
      expect([await a.started, await b.started].every((at) => typeof at === 'number')).toBe(true);
      await Promise.all([a.exit, b.exit]);
    });

    it('takes a standby process off standby when it is killed before it started; it never runs', async () => {
      const busy = launcher.launch(run('busy', 'sleep 0.3'));
      const waiting = launcher.launch(run('waiting', 'echo ran'), { standby: true });
      waiting.killGroup();
      expect(await waiting.exit).toEqual({ kind: 'cancelled' });
      expect(await waiting.started).toBeUndefined();
      const end = await busy.exit;
      expect(end).not.toHaveProperty('handed');
      expect(textOrEmpty(path.join(dir, 'waiting.out'))).toBe('');
    });

    it('starts a standby process now when asked, and says so; asking too late says no', async () => {
      const busy = launcher.launch(run('busy', 'sleep 30'));
      const promoted = launcher.launch(run('promoted', 'echo promoted'), { standby: true });
      expect(await promoted.startNow()).toBe(true);
      expect(typeof (await promoted.started)).toBe('number');
      expect(await promoted.exit).toMatchObject({ kind: 'exited', code: 0 });
      expect(await promoted.startNow()).toBe(false);
      busy.killGroup();
      await busy.exit;

      // An exit that starts it first wins; the late startNow is told so.
      const short = launcher.launch(run('short', 'exit 0'));
      const next = launcher.launch(run('next', 'sleep 0.2'), { standby: true });
      expect(await short.exit).toMatchObject({ handed: 1 });
      expect(await next.startNow()).toBe(false);
      await next.exit;
    });

    it('tells a standby process that cannot start as such, and the next in line takes the slot', async () => {
      const busy = launcher.launch(run('busy', 'sleep 0.2'));
      const missing = launcher.launch({ ...run('missing', ''), argv: ['/no/such/program'] }, { standby: true });
      const next = launcher.launch(run('next', 'echo next'), { standby: true });
      expect(await busy.exit).toMatchObject({ kind: 'exited', handed: 1 });
      expect(await missing.exit).toMatchObject({ kind: 'notStarted', code: 'ENOENT' });
      expect(await missing.started).toBeUndefined();
      expect(typeof (await next.started)).toBe('number');
      expect(await next.exit).toMatchObject({ kind: 'exited', code: 0 });
    });

    it('ends standby processes of a helper that died as cancelled: they never started', async () => {
      const busy = launcher.launch(run('busy', 'sleep 60'));
      const waiting = launcher.launch(run('waiting', 'echo ran'), { standby: true });
      await waitFor(() => busy.pid, 'the helper to tell the pid');
      killHelperOf(busy.pid!);
      expect(await busy.exit).toMatchObject({ kind: 'lost' });
      expect(await waiting.exit).toEqual({ kind: 'cancelled' });
    });
  });

  it('fails to start when its interpreter cannot run, and auto falls back to node-spawn', async () => {
    await expect(PosixSpawnLauncher.start('/nonexistent/python3')).rejects.toThrow();
    const logs: string[] = [];
    const fallback = await startLauncher('auto', (line) => logs.push(line), '/nonexistent/python3');
    expect(fallback.kind).toBe('node-spawn');
    expect(logs.join('\n')).toMatch(/Node's spawn/);
    await expect(startLauncher('posix-spawn', () => undefined, '/nonexistent/python3')).rejects.toThrow();
  });
});
