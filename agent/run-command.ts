// Runs a command line in a fresh working directory with its output kept in stdout.txt and
// stderr.txt: the shared core of tasks and start tasks. A command line that cannot be split is an
// outcome with failure info, like a program that cannot be found.
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { CommandLineError, splitCommandLine } from './command-line.js';
import { startProcess, type KillReason, type ProcessOutcome } from './task-process.js';

export interface OutputSink {
  write(chunk: Buffer): void;
  close(): Promise<void>;
}

export interface RunCommandSpec {
  commandLine: string;
  /** Holds stdout.txt, stderr.txt and the working directory `wd`. */
  taskDir: string;
  env: (workingDir: string) => Record<string, string>;
  openOutput: (file: 'stdout.txt' | 'stderr.txt', localPath: string) => Promise<OutputSink>;
  maxWallClockMs?: number;
  killLeftoversOnExit: boolean;
}

export interface CommandRun {
  /** Safe to call at any time, before or after the process started. */
  kill(reason: KillReason): void;
  readonly done: Promise<ProcessOutcome>;
}

export function runCommand(spec: RunCommandSpec): CommandRun {
  let killReason: KillReason | undefined;
  let killProcess: ((reason: KillReason) => void) | undefined;
  const done = (async (): Promise<ProcessOutcome> => {
    const workingDir = path.join(spec.taskDir, 'wd');
    await emptyDirectory(workingDir);
    const [stdout, stderr] = await Promise.all([
      spec.openOutput('stdout.txt', path.join(spec.taskDir, 'stdout.txt')),
      spec.openOutput('stderr.txt', path.join(spec.taskDir, 'stderr.txt')),
    ]);
    try {
      const now = new Date();
      if (killReason) return { exitCode: null, startTime: now, endTime: now, killedBy: killReason };
      let argv: string[];
      try {
        argv = splitCommandLine(spec.commandLine);
      } catch (error) {
        if (!(error instanceof CommandLineError)) throw error;
        return { exitCode: null, startTime: now, endTime: now, failure: { category: 'usererror', code: 'CommandLineInvalid', message: `The command line cannot be parsed: ${error.message}` } };
      }
      const child = startProcess({
        argv,
        cwd: workingDir,
        env: spec.env(workingDir),
        ...(spec.maxWallClockMs !== undefined ? { maxWallClockMs: spec.maxWallClockMs } : {}),
        onStdout: (chunk) => stdout.write(chunk),
        onStderr: (chunk) => stderr.write(chunk),
        killLeftoversOnExit: spec.killLeftoversOnExit,
      });
      killProcess = (reason) => child.kill(reason);
      return await child.done;
    } finally {
      killProcess = undefined;
      await Promise.all([stdout.close(), stderr.close()]);
    }
  })();
  return {
    done,
    kill(reason) {
      killReason ??= reason;
      killProcess?.(reason);
    },
  };
}

/** Each attempt starts from an empty working directory: a new one, or an earlier attempt's emptied. */
async function emptyDirectory(dir: string): Promise<void> {
  try {
    // Resolves undefined when the directory already existed; usually it did not (one call, not two).
    if ((await mkdir(dir, { recursive: true })) !== undefined) return;
  } catch {
    // Something other than a directory is in the way: removed below.
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}
