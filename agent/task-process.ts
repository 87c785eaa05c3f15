// Runs one command as its own process group (spawned detached), so that killing it - for the
// wall-clock limit, a terminate, or the agent leaving - also kills everything it started.
// A program that cannot be started is an outcome with failure info, never an exception.
import { spawn } from 'node:child_process';
import os from 'node:os';
import type { TaskFailureInfo } from '../shared/agent-protocol.js';

export type KillReason = 'maxWallClockTime' | 'terminate' | 'release';

export interface ProcessSpec {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  maxWallClockMs?: number;
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
  /**
   * Kill what the command left running once it exits. Right for tasks (their slot is free again);
   * wrong for a start task, which may start daemons on purpose.
   */
  killLeftoversOnExit: boolean;
}

export interface ProcessOutcome {
  /** null when the program never started or was killed. */
  exitCode: number | null;
  startTime: Date;
  endTime: Date;
  failure?: TaskFailureInfo;
  killedBy?: KillReason;
}

export interface RunningProcess {
  readonly pid: number | undefined;
  readonly done: Promise<ProcessOutcome>;
  kill(reason: KillReason): void;
}

// After the main process exits, how long to keep reading output its children may still write.
const OUTPUT_DRAIN_MS = 1000;

export function startProcess(spec: ProcessSpec): RunningProcess {
  const startTime = new Date();
  let killedBy: KillReason | undefined;
  const child = spawn(spec.argv[0]!, spec.argv.slice(1), {
    cwd: spec.cwd,
    env: spec.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => spec.onStdout(chunk));
  child.stderr?.on('data', (chunk: Buffer) => spec.onStderr(chunk));

  const killGroup = () => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };

  let wallClock: NodeJS.Timeout | undefined;
  const done = new Promise<ProcessOutcome>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      // Spawn failures arrive as 'error' without an 'exit'.
      if (child.pid !== undefined) return;
      clearTimeout(wallClock);
      resolve({ exitCode: null, startTime, endTime: new Date(), failure: spawnFailure(spec.argv[0]!, error) });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(wallClock);
      const endTime = new Date();
      const settle = () => {
        if (spec.killLeftoversOnExit || killedBy) killGroup();
        resolve(outcomeOf(code, signal, killedBy, startTime, endTime, spec.maxWallClockMs));
      };
      // Wait for the pipes to close (children may hold them), but not for ever.
      const drain = setTimeout(settle, OUTPUT_DRAIN_MS);
      child.once('close', () => {
        clearTimeout(drain);
        settle();
      });
    });
  });

  if (spec.maxWallClockMs !== undefined) {
    wallClock = setTimeout(() => {
      killedBy ??= 'maxWallClockTime';
      killGroup();
    }, spec.maxWallClockMs);
  }

  return {
    get pid() {
      return child.pid;
    },
    done,
    kill(reason: KillReason) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      killedBy ??= reason;
      killGroup();
    },
  };
}

function outcomeOf(
  code: number | null,
  signal: NodeJS.Signals | null,
  killedBy: KillReason | undefined,
  startTime: Date,
  endTime: Date,
  maxWallClockMs: number | undefined,
): ProcessOutcome {
  if (killedBy === 'maxWallClockTime') {
    return {
      exitCode: null,
      startTime,
      endTime,
      killedBy,
      failure: { category: 'usererror', code: 'MaxWallClockTimeExpiry', message: `The task ran longer than its maximum wall clock time (${maxWallClockMs} ms) and was killed` },
    };
  }
  if (killedBy === 'terminate') {
    return { exitCode: null, startTime, endTime, killedBy, failure: { category: 'usererror', code: 'TaskTerminated', message: 'The task was terminated' } };
  }
  if (killedBy === 'release') return { exitCode: null, startTime, endTime, killedBy };
  if (code === null) {
    const number = signal ? os.constants.signals[signal] : undefined;
    return {
      exitCode: null,
      startTime,
      endTime,
      failure: { category: 'usererror', code: 'TaskKilledBySignal', message: `The task's process was killed by ${signal}${number ? ` (${number})` : ''}` },
    };
  }
  return { exitCode: code, startTime, endTime };
}

function spawnFailure(program: string, error: NodeJS.ErrnoException): TaskFailureInfo {
  if (error.code === 'ENOENT') {
    return { category: 'usererror', code: 'CommandProgramNotFound', message: `The program "${program}" was not found` };
  }
  if (error.code === 'EACCES') {
    return { category: 'usererror', code: 'CommandProgramNotExecutable', message: `The program "${program}" is not executable (permission denied)` };
  }
  return { category: 'usererror', code: 'CommandProgramStartFailed', message: `The program "${program}" could not be started: ${error.code ?? error.message}` };
}
