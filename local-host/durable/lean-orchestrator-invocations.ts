// Two copies an in-process host does not need on an orchestration episode, skipped for
// orchestration triggers only; everything else (the handler, the library's replay) is the
// library's own code, unchanged. The local host and the simulator both invoke orchestrators so.
// Together the copies cost about a millisecond of host CPU per task in the compute benchmark,
// growing with the history an episode replays.
// - The answer: the Durable backend reads the raw return value (the orchestration state object)
//   and never the RPC-shaped copy, which means JSON-encoding every action ever emitted.
// - The trigger: the backend hands the binding payload as a value (trigger-data.ts); the library
//   would otherwise get it as JSON text to parse, which the backend would first have to write.
import type { CoreInvocationContext, InvocationModel, ProgrammingModel } from '../functions-core.js';
import { wrappingOrchestrations } from '../orchestration-invocations.js';
import { triggerValue } from './trigger-data.js';

interface Binding {
  name: string;
  data: unknown;
}

/**
 * Takes the trigger's value out of the request, leaving JSON `null` for the library to parse in
 * its place; the value goes back where the library puts the trigger's input (it has only one).
 */
function takeTriggerValue(core: CoreInvocationContext, triggerName: string): { value: unknown } | undefined {
  const inputData = core.request.inputData as Binding[] | undefined;
  const binding = inputData?.find((b) => b.name === triggerName);
  const carried = binding && triggerValue(binding.data);
  if (carried) binding.data = { json: 'null' };
  return carried;
}

export function withLeanOrchestratorResponses(model: ProgrammingModel): ProgrammingModel {
  return wrappingOrchestrations(model, async (core, triggerName, next) => {
    const carried = takeTriggerValue(core, triggerName);
    const inner = await next();
    const lean: InvocationModel = {
      getArguments: async () => {
        const args = await inner.getArguments();
        if (carried) args.inputs[0] = carried.value;
        return args;
      },
      invokeFunction: (context, inputs, callback) => inner.invokeFunction(context, inputs, callback),
      getResponse: async () => ({ invocationId: core.invocationId, outputData: [] }),
    };
    return lean;
  });
}
