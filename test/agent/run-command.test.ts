// A command's run: the process's end is known before its output followers have finished, so the
// agent can free the slot while the last output is still being copied.
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLauncher } from '../../agent/launchers/start-launcher.js';
import type { ProcessLauncher } from '../../agent/process-launcher.js';
import { prepareTaskFolder, runCommand } from '../../agent/run-command.js';
import { delay } from './support/fixtures.js';

let launcher: ProcessLauncher;

beforeAll(async () => {
  launcher = await startLauncher('auto', () => undefined);
});
afterAll(async () => launcher?.close());

describe('runCommand', () => {
  it('settles exited when the process ends and done once the followers have closed', async () => {
    const taskDir = await mkdtemp(path.join(os.tmpdir(), 'run-command-'));
    let closedAt = 0;
    const run = runCommand({
      launcher,
      commandLine: '/bin/sh -c "echo hi"',
      taskDir,
      env: () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin' }),
      followOutput: () => ({
        async close() {
          await delay(300);
          closedAt = Date.now();
        },
      }),
      killGroupOnExit: true,
    });
    const exited = await run.exited;
    const exitedAt = Date.now();
    expect(exited.exitCode).toBe(0);
    expect(closedAt).toBe(0);
    expect(await run.done).toEqual(exited);
    expect(closedAt).toBeGreaterThanOrEqual(exitedAt);
    expect(await readFile(path.join(taskDir, 'stdout.txt'), 'utf8')).toBe('hi\n');
  });

  it('fails exited and done alike when the folder cannot be made ready', async () => {
    const parent = await mkdtemp(path.join(os.tmpdir(), 'run-command-'));
    const prepared = Promise.reject(new Error('disk full'));
    const run = runCommand({ launcher, commandLine: '/bin/true', taskDir: parent, prepared, env: () => ({}), killGroupOnExit: true });
    await expect(run.exited).rejects.toThrow('disk full');
    await expect(run.done).rejects.toThrow('disk full');
  });

  it("empties an earlier attempt's folder when prepared ahead", async () => {
    const taskDir = await mkdtemp(path.join(os.tmpdir(), 'run-command-'));
    const first = runCommand({ launcher, commandLine: '/bin/sh -c "echo first; touch left-behind"', taskDir, env: () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin' }), killGroupOnExit: true });
    await first.done;
    const prepared = prepareTaskFolder(taskDir);
    const second = runCommand({ launcher, commandLine: '/bin/sh -c "ls -A"', taskDir, prepared, env: () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin' }), killGroupOnExit: true });
    expect((await second.done).exitCode).toBe(0);
    expect(await readFile(path.join(taskDir, 'stdout.txt'), 'utf8')).toBe('');
  });
});
