// A programming model changed only in how it invokes orchestrators: the simulator skips copies
// there, and the sim-speed benchmark times them. Every other function goes to the model as is.
import type { CoreInvocationContext, InvocationModel, ProgrammingModel } from './functions-core.js';

/** The name of the invocation's orchestration trigger binding, or undefined for any other function. */
export function orchestrationTriggerName(core: CoreInvocationContext): string | undefined {
  for (const [name, binding] of Object.entries(core.metadata.bindings)) if (binding.type === 'orchestrationTrigger') return name;
  return undefined;
}

/** Makes an orchestration's invocation model; `next` asks the wrapped model for the one it would use. */
export type OrchestrationWrap = (core: CoreInvocationContext, triggerName: string, next: () => Promise<InvocationModel>) => Promise<InvocationModel>;

export function wrappingOrchestrations(model: ProgrammingModel, wrap: OrchestrationWrap): ProgrammingModel {
  return {
    name: model.name,
    version: model.version,
    ...(model.getCapabilities ? { getCapabilities: (defaults) => model.getCapabilities!(defaults) } : {}),
    async getInvocationModel(core) {
      const triggerName = orchestrationTriggerName(core);
      if (triggerName === undefined) return model.getInvocationModel(core);
      return wrap(core, triggerName, async () => model.getInvocationModel(core));
    },
  };
}
