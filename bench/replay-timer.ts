// Times what orchestration episodes spend in the programming model (@azure/functions) and the
// durable-functions replay engine, the orchestrator code included: the part of a simulator
// iteration that is the real libraries' replay work, whatever the simulator itself costs.
import type { InvocationModel, ProgrammingModel } from '../local-host/functions-core.js';
import { wrappingOrchestrations } from '../local-host/orchestration-invocations.js';

export interface ReplayTimer {
  /** Milliseconds spent in orchestration invocations since the last reset, and how many there were. */
  readonly ms: number;
  readonly episodes: number;
  reset(): void;
}

/** Wraps `model` so that orchestration-trigger invocations are timed; the returned model replaces it. */
export function timeOrchestrationReplays(model: ProgrammingModel): { model: ProgrammingModel; timer: ReplayTimer } {
  const totals = { ms: 0, episodes: 0 };
  const timed = async <T>(work: () => T | Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await work();
    } finally {
      totals.ms += performance.now() - start;
    }
  };
  const wrapped = wrappingOrchestrations(model, async (_core, _triggerName, next) => {
    totals.episodes++;
    const inner = await timed(next);
    const timedModel: InvocationModel = {
      getArguments: () => timed(() => inner.getArguments()),
      invokeFunction: (context, inputs, callback) => timed(() => inner.invokeFunction(context, inputs, callback)),
      getResponse: (context, result) => timed(() => inner.getResponse(context, result)),
    };
    return timedModel;
  });
  const timer: ReplayTimer = {
    get ms() {
      return totals.ms;
    },
    get episodes() {
      return totals.episodes;
    },
    reset() {
      totals.ms = 0;
      totals.episodes = 0;
    },
  };
  return { model: wrapped, timer };
}
