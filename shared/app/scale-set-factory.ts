// Chooses the node provider from the app settings: VM scale sets on Azure, agent processes on
// the local host.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AGENT_ENV } from '../agent-protocol.js';
import type { ScaleSetProvider } from '../ports/scale-set-provider.js';

/** Which node provider the settings choose: "azure" or "local" (the default). */
export function scaleSetProviderKind(env: NodeJS.ProcessEnv): string {
  return env.FNBATCH_SCALE_SET_PROVIDER ?? 'local';
}

export async function createScaleSetProvider(env: NodeJS.ProcessEnv): Promise<ScaleSetProvider> {
  const kind = scaleSetProviderKind(env);
  if (kind === 'azure') {
    const { createArmScaleSetProviderFromSettings } = await import('../adapters/arm-scale-set-provider.js');
    return createArmScaleSetProviderFromSettings(env);
  }
  if (kind === 'local') {
    const { LocalScaleSetProvider } = await import('../adapters/local-scale-set-provider.js');
    const baseUrl = env.FUNCTIONS_LOCAL_BASE_URL;
    const agentKey = env.FUNCTIONS_LOCAL_FUNCTION_KEY;
    const storage = env.AzureWebJobsStorage;
    if (!baseUrl || !agentKey || !storage) {
      throw new Error('The local node provider runs on the fnbatch local host (it needs FUNCTIONS_LOCAL_BASE_URL, FUNCTIONS_LOCAL_FUNCTION_KEY and AzureWebJobsStorage).');
    }
    // Without a data folder (an in-memory host) the nodes' folders are temporary and go with them.
    const temporary = env.FUNCTIONS_LOCAL_DATA_DIR ? undefined : await mkdtemp(path.join(os.tmpdir(), 'fnbatch-nodes-'));
    const countsDir = env[AGENT_ENV.requestCountsDir];
    const provider = new LocalScaleSetProvider({
      endpoint: `${baseUrl}/api`,
      agentKey,
      storageConnectionString: storage,
      workRoot: temporary ?? path.join(env.FUNCTIONS_LOCAL_DATA_DIR!, 'nodes'),
      // The nodes count their requests for whoever measures them (the compute benchmark).
      ...(countsDir ? { spawnEnv: { [AGENT_ENV.requestCountsDir]: countsDir } } : {}),
    });
    if (temporary) {
      const stopAll = provider.stopAll.bind(provider);
      provider.stopAll = async () => {
        await stopAll();
        await rm(temporary, { recursive: true, force: true });
      };
    }
    return provider;
  }
  throw new Error(`FNBATCH_SCALE_SET_PROVIDER '${kind}' is not one of azure, local.`);
}
