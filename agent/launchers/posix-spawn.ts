// Starts task processes through a small helper process (posix-spawn-helper.py, run by python3)
// that uses posix_spawn: the cost of starting a task no longer grows with the agent's memory, and
// the agent's event loop never stands still for a fork. Requests and replies are JSON lines on
// the helper's stdin and stdout; the helper kills process groups itself. If it dies, the processes
// it was watching are reported lost and killed (those whose pid it had told), and the next launch
// starts a new helper.
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fnbatchPackageRoot } from '../../shared/package-root.js';
import { killProcessGroup, type LaunchExit, type LaunchOptions, type LaunchRequest, type LaunchedProcess, type ProcessLauncher } from '../process-launcher.js';

const HELPER_FILE = path.join('agent', 'launchers', 'posix-spawn-helper.py');
const READY_TIMEOUT_MS = 10_000;

type Reply =
  | { ready: true }
  /** `at` (epoch ms) comes with the start of a standby process only. */
  | { started: number; pid: number; at?: number; now?: boolean }
  | { exited: number; pid: number; code?: number; signal?: number; handed?: number; at?: number }
  | { failed: number; errno: string; message: string }
  | { cancelled: number }
  | { notNow: number };

interface Pending {
  /** Known once the helper says (it is in no hurry to: only orphans need it, if it dies). */
  pid?: number;
  resolve(exit: LaunchExit): void;
  /** A standby process's start: when it starts, or that it never will. */
  started?(at: number | undefined): void;
  /** The answer to a startNow: whether it started the process. */
  now?(effective: boolean): void;
}

/** The helper script, in the package's agent/launchers/ (beside this module's source). */
export function posixSpawnHelperPath(): string {
  return path.join(fnbatchPackageRoot(), HELPER_FILE);
}

class Helper {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private buffered = '';
  private gone = false;
  readonly ready: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    let ready!: () => void;
    let notReady!: (error: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => {
      ready = resolve;
      notReady = reject;
    });
    // A helper started again after one died is used without waiting: its failure shows in the launches.
    this.ready.catch(() => undefined);
    const timer = setTimeout(() => notReady(new Error(`the posix-spawn helper did not start within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => (stderr = (stderr + text).slice(-2_000)));
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => {
      this.buffered += text;
      for (let newline = this.buffered.indexOf('\n'); newline >= 0; newline = this.buffered.indexOf('\n')) {
        const line = this.buffered.slice(0, newline);
        this.buffered = this.buffered.slice(newline + 1);
        let reply: unknown;
        try {
          reply = JSON.parse(line);
        } catch {
          reply = undefined;
        }
        // A line that is not the helper's (say, a library writing to stdout) is passed over.
        if (reply === null || typeof reply !== 'object') continue;
        if ('ready' in reply) {
          clearTimeout(timer);
          ready();
        } else this.handle(reply as Exclude<Reply, { ready: true }>);
      }
    });
    child.stdin!.on('error', () => undefined); // a dead helper is handled on 'close'
    child.once('error', (error) => notReady(error));
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      this.gone = true;
      const why = `the posix-spawn helper exited (${signal ?? `code ${code}`})${stderr.trim() ? `: ${stderr.trim()}` : ''}`;
      notReady(new Error(why));
      // Each may have started: the orphans whose pids it had told are killed; one started in its
      // last moments (its pid not yet told) may outlive it.
      for (const [, pending] of this.pending) {
        if (pending.pid !== undefined) killProcessGroup(pending.pid);
        // A standby process that had not started never will: it is as if cancelled.
        pending.resolve(pending.started ? { kind: 'cancelled' } : { kind: 'lost', message: why });
      }
      this.pending.clear();
    });
  }

  static start(python: string): Helper {
    return new Helper(spawn(python, [posixSpawnHelperPath()], { stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  get isGone(): boolean {
    return this.gone;
  }

  launch(request: LaunchRequest, options: LaunchOptions = {}): LaunchedProcess {
    const id = this.nextId++;
    let resolveExit!: (exit: LaunchExit) => void;
    const exit = new Promise<LaunchExit>((resolve) => (resolveExit = resolve));
    const pending: Pending = { resolve: resolveExit };
    let started: Promise<number | undefined> = Promise.resolve(Date.now());
    if (options.standby) {
      started = new Promise<number | undefined>((resolve) => (pending.started = resolve));
      // Whatever ends a standby process before its start (a cancel, a failure, a lost helper) settles its start too.
      pending.resolve = (end) => {
        pending.started?.(undefined);
        pending.now?.(false);
        resolveExit(end);
      };
    }
    if (this.gone) pending.resolve({ kind: 'notStarted', code: 'EIO', message: 'the posix-spawn helper is gone' });
    else {
      this.pending.set(id, pending);
      const { argv, cwd, env, stdoutPath, stderrPath, killGroupOnExit, slots } = request;
      this.send({ start: id, argv, cwd, env, stdout: stdoutPath, stderr: stderrPath, killGroupOnExit, ...(slots !== undefined ? { slots } : {}), ...(options.standby ? { standby: true } : {}) });
    }
    return {
      get pid() {
        return pending.pid;
      },
      exit,
      started,
      // The helper knows the pid at once, and handles requests in order: one sent before the
      // process started reaches it after the start.
      killGroup: () => {
        if (this.pending.has(id)) this.send({ kill: id });
      },
      startNow: () => {
        if (!options.standby || !pending.started || !this.pending.has(id) || pending.now) return Promise.resolve(false);
        const answer = new Promise<boolean>((resolve) => (pending.now = resolve));
        this.send({ now: id });
        return answer;
      },
    };
  }

  private send(request: object): void {
    if (!this.gone) this.child.stdin!.write(`${JSON.stringify(request)}\n`);
  }

  private handle(reply: Exclude<Reply, { ready: true }>): void {
    if ('started' in reply) {
      const pending = this.pending.get(reply.started);
      if (pending) {
        pending.pid = reply.pid;
        if (reply.at !== undefined) pending.started?.(reply.at);
        pending.started = undefined;
        if (reply.now) {
          pending.now?.(true);
          pending.now = undefined;
        }
      }
      return;
    }
    if ('notNow' in reply) {
      const pending = this.pending.get(reply.notNow);
      pending?.now?.(false);
      if (pending) pending.now = undefined;
      return;
    }
    const id = 'exited' in reply ? reply.exited : 'failed' in reply ? reply.failed : reply.cancelled;
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    if ('cancelled' in reply) return pending.resolve({ kind: 'cancelled' });
    if ('exited' in reply) pending.pid = reply.pid;
    const handover = 'exited' in reply ? { ...(reply.handed ? { handed: reply.handed } : {}), ...(reply.at !== undefined ? { at: reply.at } : {}) } : {};
    if ('failed' in reply) pending.resolve({ kind: 'notStarted', code: reply.errno, message: reply.message });
    else if (reply.signal !== undefined) pending.resolve({ kind: 'signaled', signal: signalName(reply.signal), ...handover });
    else pending.resolve({ kind: 'exited', code: reply.code ?? 0, ...handover });
  }

  /** The helper exits when its stdin closes. */
  close(): void {
    this.child.stdin!.end();
  }
}

export class PosixSpawnLauncher implements ProcessLauncher {
  readonly kind = 'posix-spawn';
  readonly standby = true;
  private closed = false;

  private constructor(
    private readonly python: string,
    private helper: Helper,
  ) {}

  /** Starts the helper with `python` (python3 on PATH by default); rejects if it cannot run. */
  static async start(python = 'python3'): Promise<PosixSpawnLauncher> {
    const helper = Helper.start(python);
    try {
      await helper.ready;
    } catch (error) {
      helper.close();
      throw error;
    }
    return new PosixSpawnLauncher(python, helper);
  }

  launch(request: LaunchRequest, options?: LaunchOptions): LaunchedProcess {
    if (this.closed) {
      return {
        pid: undefined,
        exit: Promise.resolve({ kind: 'notStarted', code: 'ECANCELED', message: 'the launcher is closed' }),
        started: Promise.resolve(undefined),
        killGroup: () => undefined,
        startNow: () => Promise.resolve(false),
      };
    }
    if (this.helper.isGone) this.helper = Helper.start(this.python);
    return this.helper.launch(request, options);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.helper.close();
  }
}

function signalName(signal: number): NodeJS.Signals | null {
  for (const [name, number] of Object.entries(os.constants.signals)) if (number === signal) return name as NodeJS.Signals;
  return null;
}
