// Task ends of one job that arrive while a notice to that job's orchestration is on its way travel
// together in the next notice. Under load a job then gets one event (and one replay of its
// orchestration) for several ends, with no timer: a lone end is raised at once.
import type { JobEvent, JobOrchestrations, TaskEnd } from './job-events.js';

type Raise = JobOrchestrations['raise'];

interface OpenNotice {
  ends: TaskEnd[];
  raised: Promise<void>;
}

export class EndsCoalescer {
  /** Per instance: the notice still taking ends, sent when the one before it is through. */
  private readonly open = new Map<string, OpenNotice>();
  /** Per instance: settles when the last notice sent or queued is through. */
  private readonly last = new Map<string, Promise<void>>();

  /**
   * Raises `ends` to the instance, with any other ends that come before the notice goes out.
   * Settles when the notice carrying them is through, as `raise` does; `raise` is called by
   * whichever caller opened the notice, so it belongs to an invocation that is still waiting.
   */
  raiseEnds(raise: Raise, instanceId: string, ends: TaskEnd[]): Promise<void> {
    const open = this.open.get(instanceId);
    if (open) {
      open.ends.push(...ends);
      return open.raised;
    }
    const before = this.last.get(instanceId) ?? Promise.resolve();
    const collected = [...ends];
    const raised = before.then(() => {
      this.open.delete(instanceId);
      const event: JobEvent = { type: 'tasksEnded', ends: collected };
      return raise(instanceId, event);
    });
    this.open.set(instanceId, { ends: collected, raised });
    const through = raised.then(
      () => undefined,
      () => undefined,
    );
    this.last.set(instanceId, through);
    void through.then(() => {
      if (this.last.get(instanceId) === through) this.last.delete(instanceId);
    });
    return raised;
  }
}

/** Orchestrations whose task-end events are coalesced per instance by `coalescer`. */
export function coalescingEnds(orchestrations: JobOrchestrations, coalescer: EndsCoalescer): JobOrchestrations {
  return {
    start: (instanceId, input) => orchestrations.start(instanceId, input),
    terminate: (instanceId, reason) => orchestrations.terminate(instanceId, reason),
    raise: (instanceId, event) =>
      event.type === 'tasksEnded'
        ? coalescer.raiseEnds((id, e) => orchestrations.raise(id, e), instanceId, event.ends)
        : orchestrations.raise(instanceId, event),
  };
}
