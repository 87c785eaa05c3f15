import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NodeSpawnLauncher } from '../../agent/launchers/node-spawn.js';
import { PosixSpawnLauncher } from '../../agent/launchers/posix-spawn.js';
import { startLauncher } from '../../agent/launchers/start-launcher.js';
import { isProcessAlive, waitFor } from '../agent/support/fixtures.js';
import { processLauncherConformance } from './process-launcher.suite.js';

processLauncherConformance('node-spawn', async () => new NodeSpawnLauncher());
processLauncherConformance('posix-spawn', () => PosixSpawnLauncher.start());

describe('posix-spawn launcher', () => {
  it('reports the processes of a helper that died as lost, kills them, and starts a new helper', async () => {
    const launcher = await PosixSpawnLauncher.start();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fnbatch-launcher-'));
    try {
      const files = { cwd: dir, env: { PATH: '/usr/bin:/bin' }, stdoutPath: path.join(dir, 'o'), stderrPath: path.join(dir, 'e'), killGroupOnExit: true };
      const long = launcher.launch({ argv: ['/bin/sleep', '60'], ...files });
      await waitFor(() => long.pid, 'the helper to tell the pid');
      const helper = spawnSync('ps', ['-o', 'ppid=', '-p', String(long.pid)], { encoding: 'utf8' }).stdout.trim();
      process.kill(Number(helper), 'SIGKILL');
      expect(await long.exit).toMatchObject({ kind: 'lost' });
      await waitFor(() => !isProcessAlive(long.pid!), 'the orphaned process to be killed');
      expect(await launcher.launch({ argv: ['/bin/sh', '-c', 'exit 5'], ...files }).exit).toEqual({ kind: 'exited', code: 5 });
      await launcher.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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
