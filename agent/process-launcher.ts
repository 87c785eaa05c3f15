// The port through which the agent starts task processes. Each process leads its own process group
// (so a kill reaches everything it started), reads nothing, and writes its stdout and stderr
// straight into the files named, as Batch's stdout.txt and stderr.txt: the agent copies them to
// blob storage from there, so no task output passes through the agent's event loop.
//
// Two adapters (agent/launchers/): node-spawn (child_process.spawn: works wherever Node does) and
// posix-spawn (a small helper process that starts programs with posix_spawn). A fork from the
// agent copies its page tables, a cost that grows with its memory: several milliseconds of CPU per
// task for a 100 MB agent, during which its event loop stands still; posix_spawn does not copy them.
// The helper also takes processes on standby, started in the slot of the next process to exit.
// Only it does: with Node's spawn the start would still wait for the agent's event loop.

export interface LaunchRequest {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  /** Created or truncated; the process's stdout. */
  stdoutPath: string;
  /** Created or truncated; the process's stderr. */
  stderrPath: string;
  /**
   * Kill what the process left running once it exits. Right for tasks (their slot is free again);
   * wrong for a start task, which may start daemons on purpose.
   */
  killGroupOnExit: boolean;
  /** The node's task slots the process takes (1 when absent): when it exits, standby processes may take them. */
  slots?: number;
}

export interface LaunchOptions {
  /**
   * Do not start the process now: start it the moment one of the processes this launcher started
   * exits and frees a slot, in the order they were launched on standby, one slot each. A task
   * claimed while every slot is busy then starts with no round trip through the agent (see
   * `ProcessLauncher.standby`).
   */
  standby?: boolean;
}

/** Slots an exiting process handed to standby processes, which started in them; when it ended (epoch ms), if the launcher knows better than the moment it tells. */
interface Handover {
  handed?: number;
  at?: number;
}

export type LaunchExit =
  | ({ kind: 'exited'; code: number } & Handover)
  | ({ kind: 'signaled'; signal: NodeJS.Signals | null } & Handover)
  /** A standby process killed before it started. */
  | { kind: 'cancelled' }
  /** The program could not be started; `code` is the errno name (ENOENT, EACCES, ...). */
  | { kind: 'notStarted'; code: string; message: string }
  /** The launcher died while the process ran (or before it told that it had started): its end cannot be known. */
  | { kind: 'lost'; message: string };

export interface LaunchedProcess {
  /** The process id, once known (at the latest when the process has exited). */
  readonly pid: number | undefined;
  /** Settles once the process has ended (or could not start). Never rejects. */
  readonly exit: Promise<LaunchExit>;
  /**
   * When the process started (epoch ms): at once for a process launched now (the launch's
   * moment); for one on standby, when a slot freed; undefined if it never started.
   */
  readonly started: Promise<number | undefined>;
  /**
   * SIGKILL to the process's whole group while it runs; before it has started, as soon as it
   * does (a standby process is taken off standby instead). Nothing once it has exited
   * (killGroupOnExit decides about what it left running).
   */
  killGroup(): void;
  /**
   * A standby process starts at once, in a slot the caller has free. Resolves whether this call
   * started it: false when an exit already had (in that exit's slot), or it never will.
   */
  startNow(): Promise<boolean>;
}

export interface ProcessLauncher {
  /** "node-spawn" or "posix-spawn". */
  readonly kind: string;
  /** Whether `launch` takes `standby` (the posix-spawn helper does; Node's spawn has no gain from it). */
  readonly standby: boolean;
  launch(request: LaunchRequest, options?: LaunchOptions): LaunchedProcess;
  /** Starts no more processes; those running go on (the agent kills what it must itself). */
  close(): Promise<void>;
}

/** SIGKILL to a process group; a group already gone is no error. */
export function killProcessGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
