// The Durable backend reads an orchestrator's answer from the raw return value (the
// orchestration state object) and never looks at the RPC-shaped copy the programming model makes
// of it. Making that copy means JSON-encoding every action the orchestration ever emitted, on every
// episode: a sixth of an episode's cost in the simulator. This decorator skips the copy for
// orchestration triggers only; everything else (the arguments, the handler, the replay) is the
// library's own code, unchanged.
import type { CoreInvocationContext, InvocationModel, ProgrammingModel } from '../local-host/functions-core.js';

function isOrchestration(core: CoreInvocationContext): boolean {
  return Object.values(core.metadata.bindings).some((b) => b.type === 'orchestrationTrigger');
}

export function withLeanOrchestratorResponses(model: ProgrammingModel): ProgrammingModel {
  return {
    name: model.name,
    version: model.version,
    ...(model.getCapabilities ? { getCapabilities: (defaults) => model.getCapabilities!(defaults) } : {}),
    async getInvocationModel(core) {
      const inner = await model.getInvocationModel(core);
      if (!isOrchestration(core)) return inner;
      const lean: InvocationModel = {
        getArguments: () => inner.getArguments(),
        invokeFunction: (context, inputs, callback) => inner.invokeFunction(context, inputs, callback),
        getResponse: async () => ({ invocationId: core.invocationId, outputData: [] }),
      };
      return lean;
    },
  };
}
