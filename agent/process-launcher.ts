// The port through which the agent starts task processes. Each process leads its own process group
// (so a kill reaches everything it started), reads nothing, and writes its stdout and stderr
// straight into the files named, as Batch's stdout.txt and stderr.txt: the agent copies them to
// blob storage from there, so no task output passes through the agent's event loop.
//
// Two adapters (agent/launchers/): node-spawn (child_process.spawn: works wherever Node does) and
// posix-spawn (a small helper process that starts programs with posix_spawn). A fork from the
// agent copies its page tables, a cost that grows with its memory: several milliseconds of CPU per
// task for a 100 MB agent, during which its event loop stands still; posix_spawn does not copy them.

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
}

export type LaunchExit =
  | { kind: 'exited'; code: number }
  | { kind: 'signaled'; signal: NodeJS.Signals | null }
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
   * SIGKILL to the process's whole group while it runs; before it has started, as soon as it
   * does. Nothing once it has exited (killGroupOnExit decides about what it left running).
   */
  killGroup(): void;
}

export interface ProcessLauncher {
  /** "node-spawn" or "posix-spawn". */
  readonly kind: string;
  launch(request: LaunchRequest): LaunchedProcess;
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
