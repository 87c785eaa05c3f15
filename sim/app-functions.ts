// The app's job orchestration and activities, registered once per process through the same
// @azure/functions core API the local host provides, and invoked in-process by the real invoker.
import type { Invoker } from '../local-host/contracts.js';
import { FunctionRegistry } from '../local-host/functions-core.js';
import { createInvoker } from '../local-host/invoker.js';
import { provideFunctionsCore } from '../local-host/module-hook.js';
import { withLeanOrchestratorResponses } from '../local-host/durable/lean-orchestrator-invocations.js';

export interface SimApp {
  registry: FunctionRegistry;
  invoke: Invoker;
}

let loaded: Promise<SimApp> | undefined;

export function loadSimApp(): Promise<SimApp> {
  loaded ??= (async () => {
    const registry = new FunctionRegistry();
    provideFunctionsCore(registry.createCoreApi());
    // Only the orchestration side: the simulator calls the services the HTTP functions wrap.
    await import('../orchestrators/index.js');
    if (!registry.programmingModel) throw new Error('the app registered no programming model');
    registry.programmingModel = withLeanOrchestratorResponses(registry.programmingModel);
    let invocations = 0;
    const invoke = createInvoker({ registry, appHookData: {}, newInvocationId: () => `sim-${++invocations}` });
    return { registry, invoke };
  })();
  return loaded;
}
