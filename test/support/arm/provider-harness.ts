// An ArmScaleSetProvider wired to a FakeArmServer through the real ComputeManagementClient, with
// short polls and a recording sleep so retry waits can be asserted without waiting them out.
import { setTimeout as delay } from 'node:timers/promises';
import { ArmScaleSetProvider, type ArmScaleSetProviderOptions } from '../../../shared/adapters/arm-scale-set-provider.js';
import type { ArmNodeTemplate } from '../../../shared/adapters/arm-scale-set-model.js';
import { throwawaySshPublicKey } from '../../../shared/adapters/arm-ssh-key.js';
import { FakeArmServer, fixedTokenCredential, type FakeArmServerOptions } from './fake-arm-server.js';
import { trustTestCertificatePolicy } from './test-tls.js';

export const RESOURCE_GROUP = 'rg-fnbatch-nodes';
export const PREFIX = 'fnb';
export const SUBNET_ID = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/nodes';
export const NODE_IDENTITY_ID = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-id/providers/Microsoft.ManagedIdentity/userAssignedIdentities/fnbatch-nodes';

export interface ArmHarness {
  server: FakeArmServer;
  provider: ArmScaleSetProvider;
  /** Every wait the provider asked for between attempts, in ms. */
  sleeps: number[];
  stop(): Promise<void>;
}

export interface ArmHarnessOptions {
  server?: FakeArmServerOptions;
  provider?: Partial<Omit<ArmScaleSetProviderOptions, 'nodeTemplate'>>;
  /** Merged over the harness's template; `sshPublicKey: undefined` lets the provider make its own. */
  nodeTemplate?: Partial<ArmNodeTemplate>;
  /** How long a requested retry wait really lasts; default 1 ms (abortable either way). */
  realSleepMs?: (requestedMs: number) => number;
}

let sharedKey: string | undefined;

export async function startArmHarness(options: ArmHarnessOptions = {}): Promise<ArmHarness> {
  const server = await new FakeArmServer(options.server).start();
  const sleeps: number[] = [];
  const provider = new ArmScaleSetProvider({
    subscriptionId: server.subscriptionId,
    resourceGroup: RESOURCE_GROUP,
    location: 'westeurope',
    scaleSetPrefix: PREFIX,
    credential: fixedTokenCredential,
    endpoint: server.endpoint,
    clientOptions: { additionalPolicies: [{ policy: trustTestCertificatePolicy(), position: 'perCall' }] },
    nodeTemplate: {
      vmSize: 'Standard_D2s_v5',
      subnetId: SUBNET_ID,
      nodeIdentityId: NODE_IDENTITY_ID,
      nodeIdentityClientId: '11111111-2222-3333-4444-555555555555',
      customData: Buffer.from('#cloud-config\nruncmd: [echo hello]\n').toString('base64'),
      // One key per process: generating RSA keys is slow, and the key is not what most tests look at.
      sshPublicKey: (sharedKey ??= throwawaySshPublicKey('fnbatch-test')),
      ...options.nodeTemplate,
    },
    retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000, maxRetryAfterMs: 60_000 },
    random: () => 0.5,
    sleep: async (ms, signal) => {
      sleeps.push(ms);
      await delay(options.realSleepMs?.(ms) ?? 1, undefined, { signal });
    },
    pollIntervalMs: 5,
    ...options.provider,
  });
  return { server, provider, sleeps, stop: () => server.stop() };
}

/** Waits (briefly, polling) until `condition` holds; fails after `timeoutMs`. */
export async function eventually(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await delay(5);
  }
}
