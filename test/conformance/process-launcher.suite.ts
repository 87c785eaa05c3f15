// One conformance suite for every ProcessLauncher adapter (agent/launchers/): what a task's process
// sees (argv, working directory, exactly the environment given, no stdin, default signal
// handling), where its output goes, how its end is reported, and that a kill reaches its whole
// process group. Waits poll with generous deadlines; nothing asserts an upper bound on time.
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LaunchRequest, ProcessLauncher } from '../../agent/process-launcher.js';
import { isProcessAlive, waitFor } from '../agent/support/fixtures.js';

const PATH = '/usr/local/bin:/usr/bin:/bin';

export function processLauncherConformance(name: string, start: () => Promise<ProcessLauncher>): void {
  describe(`ProcessLauncher conformance: ${name}`, () => {
    let launcher: ProcessLauncher;
    let dir: string;
    const request = (argv: string[], more: Partial<LaunchRequest> = {}): LaunchRequest => ({
      argv,
      cwd: dir,
      env: { PATH },
      stdoutPath: path.join(dir, 'stdout.txt'),
      stderrPath: path.join(dir, 'stderr.txt'),
      killGroupOnExit: false,
      ...more,
    });
    const output = async () => ({
      stdout: await readFile(path.join(dir, 'stdout.txt'), 'utf8'),
      stderr: await readFile(path.join(dir, 'stderr.txt'), 'utf8'),
    });

    beforeEach(async () => {
      launcher = await start();
      dir = await mkdtemp(path.join(os.tmpdir(), 'fnbatch-launcher-'));
    });
    afterEach(async () => {
      await launcher.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('reports the exit code and writes stdout and stderr to their files', async () => {
      const exit = await launcher.launch(request(['/bin/sh', '-c', 'echo out; echo err >&2; exit 3'])).exit;
      expect(exit).toMatchObject({ kind: 'exited', code: 3 });
      expect(await output()).toEqual({ stdout: 'out\n', stderr: 'err\n' });
    });

    it('passes argv as given, without a shell', async () => {
      const exit = await launcher.launch(request(['/usr/bin/printf', '%s|', 'a b', '$HOME', '*'])).exit;
      expect(exit).toMatchObject({ kind: 'exited', code: 0 });
      expect((await output()).stdout).toBe('a b|$HOME|*|');
    });

    it('runs in the working directory with exactly the environment given', async () => {
      const env = { PATH, FNBATCH_TEST: 'value with spaces', EMPTY: '' };
      const exit = await launcher.launch(request(['/usr/bin/env'], { env })).exit;
      expect(exit).toMatchObject({ kind: 'exited', code: 0 });
      const lines = (await output()).stdout.trim().split('\n').sort();
      expect(lines).toEqual(['EMPTY=', 'FNBATCH_TEST=value with spaces', `PATH=${PATH}`]);
      await launcher.launch(request(['/bin/pwd'])).exit;
      expect((await output()).stdout.trim()).toBe(dir);
    });

    it("finds a bare program name on the given environment's PATH", async () => {
      expect(await launcher.launch(request(['sh', '-c', 'exit 4'])).exit).toMatchObject({ kind: 'exited', code: 4 });
      const exit = await launcher.launch(request(['sh', '-c', 'exit 4'], { env: { PATH: path.join(dir, 'nowhere') } })).exit;
      expect(exit).toMatchObject({ kind: 'notStarted', code: 'ENOENT' });
    });

    it('reports a program that does not exist or cannot be executed as not started', async () => {
      expect(await launcher.launch(request([path.join(dir, 'missing')])).exit).toMatchObject({ kind: 'notStarted', code: 'ENOENT' });
      const plain = path.join(dir, 'plain.txt');
      await writeFile(plain, 'not a program', { mode: 0o644 });
      expect(await launcher.launch(request([plain])).exit).toMatchObject({ kind: 'notStarted', code: 'EACCES' });
    });

    it('truncates output files an earlier run left', async () => {
      await writeFile(path.join(dir, 'stdout.txt'), 'old output that must go');
      await writeFile(path.join(dir, 'stderr.txt'), 'old errors that must go');
      expect(await launcher.launch(request(['/bin/sh', '-c', 'echo new'])).exit).toMatchObject({ kind: 'exited', code: 0 });
      expect(await output()).toEqual({ stdout: 'new\n', stderr: '' });
    });

    it('gives the process an empty stdin and default signal handling', async () => {
      // cat ends at once on an empty stdin (it would wait on a terminal or a pipe left open).
      expect(await launcher.launch(request(['cat'])).exit).toMatchObject({ kind: 'exited', code: 0 });
      // grep reads its own masks, as the launcher left them: a shell's would be read while the
      // shell blocks every signal around a fork of its own.
      const exit = await launcher.launch(request(['grep', '-E', '^Sig(Ign|Blk)', '/proc/self/status'])).exit;
      expect(exit).toMatchObject({ kind: 'exited', code: 0 });
      const masks = Object.fromEntries((await output()).stdout.trim().split('\n').map((line) => line.split(':\t') as [string, string]));
      expect(BigInt(`0x${masks.SigBlk}`)).toBe(0n);
      // Signals 1-31 (SIGPIPE above all, which Node and Python ignore) as a program expects them;
      // glibc's posix_spawn leaves its own internal signals (32, 33) ignored, which glibc handles.
      expect(BigInt(`0x${masks.SigIgn}`) & 0x7fffffffn).toBe(0n);
    });

    it('reports a process killed by a signal with the signal', async () => {
      expect(await launcher.launch(request(['/bin/sh', '-c', 'kill -TERM $$'])).exit).toMatchObject({ kind: 'signaled', signal: 'SIGTERM' });
    });

    it('starts each process as the leader of its own process group', async () => {
      const launched = launcher.launch(request(['/bin/sh', '-c', 'cat /proc/$$/stat']));
      await launched.exit;
      const stat = (await output()).stdout;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pid = Number(stat.split(' ')[0]);
      expect(launched.pid).toBe(pid);
      expect(Number(fields[2])).toBe(pid); // process group
      expect(Number(fields[3])).toBe(pid); // session
    });

    it('kills the whole process group, children included', async () => {
      const launched = launcher.launch(request(['/bin/sh', '-c', 'sleep 60 & echo $! > child.pid; wait']));
      await waitFor(() => launched.pid, 'the process to start');
      const child = await waitFor(() => {
        const pid = Number.parseInt(textOrEmpty(path.join(dir, 'child.pid')), 10);
        return pid > 0 ? pid : undefined;
      }, 'the child to start');
      launched.killGroup();
      expect(await launched.exit).toMatchObject({ kind: 'signaled', signal: 'SIGKILL' });
      await waitFor(() => !isProcessAlive(child), 'the child to die');
    });

    it('kills what a process left running when it exits, if asked to, and leaves it otherwise', async () => {
      const leaver = ['/bin/sh', '-c', 'sleep 60 & echo $! > child.pid'];
      const childOf = async () => Number.parseInt(await readFile(path.join(dir, 'child.pid'), 'utf8'), 10);
      expect(await launcher.launch(request(leaver, { killGroupOnExit: true })).exit).toMatchObject({ kind: 'exited', code: 0 });
      const killed = await childOf();
      await waitFor(() => !isProcessAlive(killed), 'the leftover child to be killed');
      expect(await launcher.launch(request(leaver, { killGroupOnExit: false })).exit).toMatchObject({ kind: 'exited', code: 0 });
      const kept = await childOf();
      try {
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(isProcessAlive(kept)).toBe(true);
      } finally {
        process.kill(kept, 'SIGKILL');
      }
    });

    it('kills a process asked to die before it had started as soon as it starts', async () => {
      const launched = launcher.launch(request(['/bin/sleep', '60']));
      launched.killGroup();
      expect(await launched.exit).toMatchObject({ kind: 'signaled', signal: 'SIGKILL' });
    });

    it('keeps many processes apart', async () => {
      const runs = Array.from({ length: 24 }, (_, i) =>
        launcher.launch(request(['/bin/sh', '-c', `exit ${i}`], { stdoutPath: path.join(dir, `out-${i}.txt`), stderrPath: path.join(dir, `err-${i}.txt`) })),
      );
      const exits = await Promise.all(runs.map((run) => run.exit));
      expect(exits).toMatchObject(Array.from({ length: 24 }, (_, i) => ({ kind: 'exited', code: i })));
    });
  });
}

/** The file's text, or '' while it does not exist yet. */
export function textOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
