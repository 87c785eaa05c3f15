// Runs a command line in a fresh working directory with its output written to stdout.txt and
// stderr.txt beside it: the shared core of tasks and start tasks. A command line that cannot be
// split is an outcome with failure info, like a program that cannot be found.
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { CommandLineError, splitCommandLine } from './command-line.js';
import type { ProcessLauncher } from './process-launcher.js';
import { startProcess, type KillReason, type ProcessOutcome, type RunningProcess } from './task-process.js';

/** Something that follows an output file while the command runs (e.g. copies it to a blob). */
export interface OutputFollower {
  /** The command has ended: take in the rest of the file and stop. */
  close(): Promise<void>;
}

export type OutputFileName = 'stdout.txt' | 'stderr.txt';

export interface RunCommandSpec {
  launcher: ProcessLauncher;
  commandLine: string;
  /** Holds stdout.txt, stderr.txt and the working directory `wd`. */
  taskDir: string;
  env: (workingDir: string) => Record<string, string>;
  /**
   * The task folder made ready by prepareTaskFolder, started by the caller ahead of time (the agent
   * starts it while its claim is out); when absent the run prepares the folder itself.
   */
  prepared?: Promise<void>;
  /** Called once the files are fresh (an earlier attempt's are gone), before the command starts. */
  followOutput?: (file: OutputFileName, localPath: string) => OutputFollower;
  maxWallClockMs?: number;
  /** Kill what the command left running once it exits (see LaunchRequest). */
  killGroupOnExit: boolean;
  /** Start the process when a running one of the same launcher exits (see LaunchOptions.standby). */
  standby?: boolean;
  /** The slots the command takes (see LaunchRequest.slots). */
  slots?: number;
}

export interface CommandRun {
  /** Safe to call at any time, before or after the process started. */
  kill(reason: KillReason): void;
  /** Settles as soon as the process has ended (or could not start): its slot is free. */
  readonly exited: Promise<ProcessOutcome>;
  /** Settles like `exited`, once the output followers have also taken in the rest of the files. */
  readonly done: Promise<ProcessOutcome>;
  /** Whether the process started (for one on standby, settles when it does); false if it never does. */
  readonly started: Promise<boolean>;
  /** A standby process starts at once; resolves whether this call started it (see LaunchedProcess.startNow). */
  startNow(): Promise<boolean>;
}

/**
 * Each attempt starts from an empty working directory and no output files: the folder of an
 * earlier attempt on this node is emptied. Safe to start before the task is known to run here.
 */
export async function prepareTaskFolder(taskDir: string): Promise<void> {
  // An earlier attempt left its files: gone before anything can follow them.
  if (!(await emptyDirectory(path.join(taskDir, 'wd')))) {
    await Promise.all([rm(path.join(taskDir, 'stdout.txt'), { force: true }), rm(path.join(taskDir, 'stderr.txt'), { force: true })]);
  }
}

export function runCommand(spec: RunCommandSpec): CommandRun {
  let killReason: KillReason | undefined;
  let killProcess: ((reason: KillReason) => void) | undefined;
  let processEnded!: (outcome: ProcessOutcome) => void;
  let failedToRun!: (error: unknown) => void;
  const exited = new Promise<ProcessOutcome>((resolve, reject) => {
    processEnded = resolve;
    failedToRun = reject;
  });
  exited.catch(() => undefined); // whoever needs it awaits `done` as well, which carries the same error
  let settleStarted!: (started: boolean) => void;
  const started = new Promise<boolean>((resolve) => (settleStarted = resolve));
  // The process is launched once the folder is ready; a startNow before that waits for it.
  let settleLaunched!: (child: RunningProcess | undefined) => void;
  const launched = new Promise<RunningProcess | undefined>((resolve) => (settleLaunched = resolve));
  const done = (async (): Promise<ProcessOutcome> => {
    const workingDir = path.join(spec.taskDir, 'wd');
    const stdoutPath = path.join(spec.taskDir, 'stdout.txt');
    const stderrPath = path.join(spec.taskDir, 'stderr.txt');
    await (spec.prepared ?? prepareTaskFolder(spec.taskDir));
    const followers = spec.followOutput ? [spec.followOutput('stdout.txt', stdoutPath), spec.followOutput('stderr.txt', stderrPath)] : [];
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
      const child = startProcess(spec.launcher, {
        argv,
        cwd: workingDir,
        env: spec.env(workingDir),
        stdoutPath,
        stderrPath,
        ...(spec.maxWallClockMs !== undefined ? { maxWallClockMs: spec.maxWallClockMs } : {}),
        killGroupOnExit: spec.killGroupOnExit,
        ...(spec.standby ? { standby: true } : {}),
        ...(spec.slots !== undefined ? { slots: spec.slots } : {}),
      });
      killProcess = (reason) => child.kill(reason);
      settleLaunched(child);
      void child.started.then(settleStarted);
      const outcome = await child.done;
      processEnded(outcome);
      return outcome;
    } finally {
      killProcess = undefined;
      settleLaunched(undefined); // no effect once launched
      settleStarted(false); // no effect once the process has told
      await Promise.all(followers.map((follower) => follower.close()));
    }
  })();
  done.then(processEnded, failedToRun);
  done.catch(() => {
    settleLaunched(undefined);
    settleStarted(false);
  });
  return {
    exited,
    done,
    started,
    startNow: async () => (await launched)?.startNow() ?? false,
    kill(reason) {
      killReason ??= reason;
      killProcess?.(reason);
    },
  };
}

/**
 * Each attempt starts from an empty working directory: a new one, or an earlier attempt's emptied.
 * Resolves whether the directory is new.
 */
async function emptyDirectory(dir: string): Promise<boolean> {
  try {
    // Resolves undefined when the directory already existed; usually it did not (one call, not two).
    if ((await mkdir(dir, { recursive: true })) !== undefined) return true;
  } catch {
    // Something other than a directory is in the way: removed below.
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return false;
}
