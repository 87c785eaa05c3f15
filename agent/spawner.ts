// Starts task processes from a worker thread. Node starts a process by forking the whole agent and
// waiting until the child has exec'd; for an agent of about 110 MB that holds the thread for
// milliseconds per task (about 9 ms on a busy machine: a quarter of the agent's time at 60 tasks/s),
// and every other slot's claim, report and receive waits behind it. In a worker only the worker
// waits. The worker's code is plain JavaScript in a string, so it runs the same from the compiled
// app and from the TypeScript sources under test.
import { Worker } from 'node:worker_threads';

export interface SpawnRequest {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
}

/** What happens to a spawned process, in order: started or failed; output; exited; closed. */
export interface SpawnEvents {
  started(pid: number): void;
  /** The program could not be started (no 'exited' follows). */
  failed(error: { code?: string; message: string }): void;
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
  exited(code: number | null, signal: NodeJS.Signals | null): void;
  /** Its output pipes are closed: no more output comes. */
  closed(): void;
  /** The worker died: nothing more will be heard of this process. */
  lost(reason: string): void;
}

type FromWorker = { id: number } & (
  | { type: 'started'; pid: number }
  | { type: 'failed'; code?: string; message: string }
  | { type: 'stdout' | 'stderr'; chunk: Uint8Array }
  | { type: 'exited'; code: number | null; signal: NodeJS.Signals | null }
  | { type: 'closed' }
);

// Each process is its own group (detached), so a kill of the group reaches all it started.
const WORKER_SOURCE = String.raw`
const { spawn } = require('node:child_process');
const { parentPort } = require('node:worker_threads');
parentPort.on('message', ({ id, argv, cwd, env }) => {
  const post = (message, transfer) => parentPort.postMessage(Object.assign({ id }, message), transfer);
  let child;
  try {
    child = spawn(argv[0], argv.slice(1), { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    post({ type: 'failed', code: error.code, message: error.message });
    return;
  }
  child.once('error', (error) => {
    if (child.pid === undefined) post({ type: 'failed', code: error.code, message: error.message });
  });
  if (child.pid === undefined) return;
  post({ type: 'started', pid: child.pid });
  const forward = (type) => (chunk) => {
    const copy = new Uint8Array(chunk);
    post({ type, chunk: copy }, [copy.buffer]);
  };
  child.stdout.on('data', forward('stdout'));
  child.stderr.on('data', forward('stderr'));
  child.once('exit', (code, signal) => post({ type: 'exited', code, signal }));
  child.once('close', () => post({ type: 'closed' }));
});
`;

export class Spawner {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly live = new Map<number, SpawnEvents>();

  spawn(request: SpawnRequest, events: SpawnEvents): void {
    const id = this.nextId++;
    this.live.set(id, events);
    this.ensureWorker().postMessage({ id, ...request });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    // The worker alone must not keep the agent alive; running processes are tracked by the agent.
    worker.unref();
    worker.on('message', (message: FromWorker) => this.deliver(message));
    const lose = (reason: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      const lost = [...this.live.values()];
      this.live.clear();
      for (const events of lost) events.lost(reason);
    };
    worker.on('error', (error) => lose(`the process starter failed: ${error.message}`));
    worker.on('exit', (code) => lose(`the process starter exited (${code})`));
    this.worker = worker;
    return worker;
  }

  private deliver(message: FromWorker): void {
    const events = this.live.get(message.id);
    if (!events) return;
    switch (message.type) {
      case 'started':
        return events.started(message.pid);
      case 'failed':
        this.live.delete(message.id);
        return events.failed(message);
      case 'stdout':
      case 'stderr':
        return events[message.type](Buffer.from(message.chunk.buffer, message.chunk.byteOffset, message.chunk.byteLength));
      case 'exited':
        return events.exited(message.code, message.signal);
      case 'closed':
        this.live.delete(message.id);
        return events.closed();
    }
  }
}

/** One per agent process: all its tasks start through the same worker. */
export const spawner = new Spawner();
