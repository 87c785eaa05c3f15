// Starts task processes with Node's child_process.spawn, their output going straight to files.
// Works wherever Node does; the agent falls back to it when the posix-spawn helper cannot run.
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import { killProcessGroup, type LaunchExit, type LaunchOptions, type LaunchRequest, type LaunchedProcess, type ProcessLauncher } from '../process-launcher.js';

export class NodeSpawnLauncher implements ProcessLauncher {
  readonly kind = 'node-spawn';
  readonly standby = false;
  private closed = false;

  launch(request: LaunchRequest, options?: LaunchOptions): LaunchedProcess {
    if (options?.standby) throw new Error('the node-spawn launcher starts no processes on standby');
    const startedAt = Date.now();
    let pid: number | undefined;
    let killWanted = false;
    let exited = false;
    const exit = (async (): Promise<LaunchExit> => {
      if (this.closed) return { kind: 'notStarted', code: 'ECANCELED', message: 'the launcher is closed' };
      const stdout = await open(request.stdoutPath, 'w');
      const stderr = await open(request.stderrPath, 'w').catch(async (error: unknown) => {
        await stdout.close();
        throw error;
      });
      let ended: Promise<LaunchExit>;
      try {
        const child = spawn(request.argv[0]!, request.argv.slice(1), {
          cwd: request.cwd,
          env: request.env,
          detached: true,
          stdio: ['ignore', stdout.fd, stderr.fd],
        });
        pid = child.pid;
        if (pid !== undefined && killWanted) killProcessGroup(pid);
        // Listening at once: a quick process may be gone before the descriptors below are closed.
        ended = new Promise<LaunchExit>((resolve) => {
          // Spawn failures arrive as 'error' without an 'exit'.
          child.once('error', (error: NodeJS.ErrnoException) => {
            if (child.pid === undefined) resolve({ kind: 'notStarted', code: error.code ?? 'EIO', message: error.message });
          });
          child.once('exit', (code, signal) => {
            exited = true;
            if (request.killGroupOnExit && pid !== undefined) killProcessGroup(pid);
            resolve(code === null ? { kind: 'signaled', signal } : { kind: 'exited', code });
          });
        });
      } finally {
        // The child has its own copies of the descriptors.
        await Promise.all([stdout.close(), stderr.close()]);
      }
      return ended;
    })()
      .catch((error: NodeJS.ErrnoException): LaunchExit => ({ kind: 'notStarted', code: error.code ?? 'EIO', message: error.message }));
    return {
      get pid() {
        return pid;
      },
      exit,
      started: Promise.resolve(startedAt),
      startNow: () => Promise.resolve(false),
      killGroup() {
        if (exited) return;
        killWanted = true;
        if (pid !== undefined) killProcessGroup(pid);
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
