// Cooperative threads for the simulator. Every call the real code makes to the outside world (the
// document store, the queues, the node provider, the Durable client) goes through a model that
// stops the calling thread at a scheduling point; the simulator then chooses which blocked thread
// (or which new piece of work) moves next. Between choices everything runs to quiescence, so a run
// is a pure function of the sequence of choices.

/** A thread was lost with the host (or node) it ran on: its caller sees the connection drop. */
export class ThreadAbandoned extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ThreadAbandoned';
  }
}

export interface SimThread {
  readonly id: number;
  readonly name: string;
  /** Threads of one group die together (one host epoch, say). */
  readonly group: string;
  /** What kind of code runs on it; decides which injected faults it may see. */
  readonly kind: ThreadKind;
  /**
   * Runs to its end without stopping at scheduling points (periodic work that changes nothing
   * worth interleaving); it still sees the faults injected at them.
   */
  readonly atomic: boolean;
}

export type ThreadKind = 'activity' | 'orchestration' | 'http' | 'timer' | 'agent' | 'setup';

/** Something the simulator may choose to do next. `owner` is the unit PCT prioritises. */
export interface Step {
  owner: string;
  label: string;
  run(): void;
}

interface ThreadState extends SimThread {
  owner?: string;
  abandon?: (reason: Error) => void;
  done: boolean;
  abandoned: boolean;
}

interface Point {
  thread: ThreadState;
  /** Built once: the simulator offers the same point at every step until it is chosen. */
  step: Step;
}

export class Kernel {
  private readonly points = new Map<number, Point>();
  private readonly live = new Set<ThreadState>();
  private nextThread = 1;
  private nextPoint = 1;

  /** Starts `body` on a new thread at once; it runs until its first scheduling point. */
  spawn<T>(name: string, group: string, kind: ThreadKind, body: (thread: SimThread) => Promise<T>, atomic = false): Promise<T> {
    const thread: ThreadState = { id: this.nextThread++, name, group, kind, atomic, done: false, abandoned: false };
    this.live.add(thread);
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = () => {
        settled = true;
        thread.done = true;
        this.live.delete(thread);
      };
      thread.abandon = (reason) => {
        if (settled) return;
        finish();
        reject(reason);
      };
      body(thread).then(
        (value) => {
          if (settled) return;
          finish();
          resolve(value);
        },
        (error: unknown) => {
          if (settled) return;
          finish();
          reject(error);
        },
      );
    });
  }

  /**
   * Blocks the thread until the simulator picks this point; an abandoned thread never resumes.
   * Work a thread left running in the background after it returned (fire-and-forget calls)
   * still stops here under the thread's name, and dies with its group.
   */
  point(thread: SimThread, label: string): Promise<void> {
    const state = thread as ThreadState;
    if (state.abandoned) return new Promise<void>(() => undefined);
    if (state.atomic) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const seq = this.nextPoint++;
      const step: Step = {
        owner: (state.owner ??= `${state.name}#${state.id}`),
        label: `${state.name}: ${label}`,
        run: () => {
          this.points.delete(seq);
          resolve();
        },
      };
      this.points.set(seq, { thread: state, step });
    });
  }

  /** The blocked threads, oldest point first, as steps that resume them. */
  blockedSteps(): Step[] {
    const steps: Step[] = [];
    for (const p of this.points.values()) steps.push(p.step);
    return steps;
  }

  /** Every thread of the group dies: its points vanish and whoever awaited it sees `reason`. */
  abandonGroup(group: string, reason: string): number {
    let count = 0;
    for (const [seq, p] of this.points) {
      if (p.thread.group !== group) continue;
      p.thread.abandoned = true;
      this.points.delete(seq);
    }
    for (const thread of [...this.live]) {
      if (thread.group !== group) continue;
      count++;
      thread.abandoned = true;
      thread.abandon?.(new ThreadAbandoned(reason));
    }
    return count;
  }

  /** Threads (or their background work) waiting at a scheduling point. */
  blockedCount(): number {
    return this.points.size;
  }

  liveThreads(kind?: ThreadKind): number {
    if (!kind) return this.live.size;
    let n = 0;
    for (const t of this.live) if (t.kind === kind) n++;
    return n;
  }

  /**
   * Lets every runnable continuation run. The models do no real I/O and set no real timers, so
   * once a macrotask turn has passed every thread is blocked at a point or finished.
   */
  settle(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }
}
