// Runs one command as its own process group, so that killing it - for the wall-clock limit, a
// terminate, or the agent leaving - also kills everything it started. Its output goes straight to
// the files named. A program that cannot be started is an outcome with failure info, never an
// exception.
import os from 'node:os';
import type { TaskFailureInfo } from '../shared/agent-protocol.js';
import type { LaunchExit, LaunchRequest, ProcessLauncher } from './process-launcher.js';

export type KillReason = 'maxWallClockTime' | 'terminate' | 'release';

export interface ProcessSpec extends LaunchRequest {
  maxWallClockMs?: number;
  /** Start when a running process of the same launcher exits (see LaunchOptions.standby). */
  standby?: boolean;
}

export interface ProcessOutcome {
  /** null when the program never started or was killed. */
  exitCode: number | null;
  startTime: Date;
  endTime: Date;
  failure?: TaskFailureInfo;
  killedBy?: KillReason;
  /** A standby process that never started (killed first). */
  unstarted?: boolean;
  /** Slots the process handed to standby processes when it exited. */
  handed?: number;
}

export interface RunningProcess {
  readonly pid: number | undefined;
  readonly done: Promise<ProcessOutcome>;
  /** Whether the process started: at once, or for one on standby when it does (false if it never does). */
  readonly started: Promise<boolean>;
  /** See LaunchedProcess.startNow. */
  startNow(): Promise<boolean>;
  kill(reason: KillReason): void;
}

export function startProcess(launcher: ProcessLauncher, spec: ProcessSpec): RunningProcess {
  let startTime = new Date();
  let killedBy: KillReason | undefined;
  let exited = false;
  const { standby, maxWallClockMs, ...request } = spec;
  const launched = launcher.launch(request, standby ? { standby } : undefined);
  let wallClock: NodeJS.Timeout | undefined;
  const started = launched.started.then((at) => {
    if (at === undefined) return false;
    startTime = new Date(at);
    if (maxWallClockMs !== undefined && !exited) {
      wallClock = setTimeout(
        () => {
          killedBy ??= 'maxWallClockTime';
          launched.killGroup();
        },
        Math.max(0, maxWallClockMs - (Date.now() - at)),
      );
    }
    return true;
  });
  const done = Promise.all([launched.exit, started]).then(([exit]): ProcessOutcome => {
    exited = true;
    clearTimeout(wallClock);
    // The launcher's own moment of the exit, when it tells one: the tell takes a while to arrive.
    const endTime = (exit.kind === 'exited' || exit.kind === 'signaled') && exit.at !== undefined ? new Date(Math.max(exit.at, startTime.getTime())) : new Date();
    if (exit.kind === 'cancelled') {
      if (killedBy === 'terminate') return { ...terminatedOutcome(endTime, endTime), unstarted: true };
      return { exitCode: null, startTime: endTime, endTime, killedBy: 'release', unstarted: true };
    }
    if (exit.kind === 'notStarted') return { exitCode: null, startTime, endTime, failure: spawnFailure(spec.argv[0]!, exit) };
    if (exit.kind === 'lost') {
      return { exitCode: null, startTime, endTime, failure: { category: 'servererror', code: 'NodeError', message: `The node lost track of the task's process: ${exit.message}` } };
    }
    const outcome =
      exit.kind === 'exited'
        ? outcomeOf(exit.code, null, killedBy, startTime, endTime, maxWallClockMs)
        : outcomeOf(null, exit.signal, killedBy, startTime, endTime, maxWallClockMs);
    return exit.handed ? { ...outcome, handed: exit.handed } : outcome;
  });

  return {
    get pid() {
      return launched.pid;
    },
    done,
    started,
    startNow: () => launched.startNow(),
    kill(reason: KillReason) {
      if (exited) return;
      killedBy ??= reason;
      launched.killGroup();
    },
  };
}

/** A task terminated on request: while it ran, or before it could start. */
export function terminatedOutcome(startTime: Date, endTime: Date): ProcessOutcome {
  return { exitCode: null, startTime, endTime, killedBy: 'terminate', failure: { category: 'usererror', code: 'TaskTerminated', message: 'The task was terminated' } };
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
  if (killedBy === 'terminate') return terminatedOutcome(startTime, endTime);
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

function spawnFailure(program: string, error: Extract<LaunchExit, { kind: 'notStarted' }>): TaskFailureInfo {
  if (error.code === 'ENOENT') {
    return { category: 'usererror', code: 'CommandProgramNotFound', message: `The program "${program}" was not found` };
  }
  if (error.code === 'EACCES') {
    return { category: 'usererror', code: 'CommandProgramNotExecutable', message: `The program "${program}" is not executable (permission denied)` };
  }
  return { category: 'usererror', code: 'CommandProgramStartFailed', message: `The program "${program}" could not be started: ${error.code}` };
}
