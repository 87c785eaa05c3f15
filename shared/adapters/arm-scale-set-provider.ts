// ScaleSetProvider over Azure VM scale sets, through the real @azure/arm-compute client.
//
// A pool owns two Flexible-orchestration scale sets (see scaleSetName): one of Regular VMs for
// dedicated nodes and one of Spot VMs for low-priority nodes. In a Flexible scale set every VM is
// an ordinary Microsoft.Compute/virtualMachines resource named "<scale set>_<suffix>"; that name is
// the node id. The VMs are listed with the VM list API filtered on the scale set id (the scale-set
// VM API is for Uniform orchestration only), and removed with the scale set's delete-instances
// operation, whose instanceIds are the VM names for Flexible orchestration. Deleting instances
// lowers the capacity by as many; the provider never lowers a capacity itself, so the platform
// never picks a victim.
//
// Every call goes through withArmRetry (arm-retry.ts); the SDK's own retries are off. Writes are
// long-running operations and are awaited to the end.

import { ComputeManagementClient, type ComputeManagementClientOptionalParams, type VirtualMachine, type VirtualMachineScaleSet } from '@azure/arm-compute';
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { readSetting } from '../config/app-settings.js';
import {
  ScaleSetError,
  scaleSetName,
  type NodePriority,
  type PoolScaleSetSpec,
  type ProvisionedNode,
  type ScaleSetProvider,
} from '../ports/scale-set-provider.js';
import { classifyArmFailure } from './arm-errors.js';
import { DEFAULT_ARM_RETRY, realRetryDeps, withArmRetry, type ArmRetryDeps, type ArmRetryPolicy } from './arm-retry.js';
import { nodeOfVm, scaleSetForPool, type ArmNodeTemplate } from './arm-scale-set-model.js';
import { throwawaySshPublicKey } from './arm-ssh-key.js';

export const DEFAULT_ARM_ENDPOINT = 'https://management.azure.com';
const PRIORITIES: readonly NodePriority[] = ['dedicated', 'lowPriority'];

export interface ArmProviderLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface ArmScaleSetProviderOptions {
  subscriptionId: string;
  resourceGroup: string;
  /** Region of scale sets the provider creates. */
  location: string;
  scaleSetPrefix: string;
  credential: TokenCredential;
  /** ARM endpoint; default https://management.azure.com. */
  endpoint?: string;
  /** Extra client options (tests add a policy trusting their server's certificate). Retries stay off. */
  clientOptions?: ComputeManagementClientOptionalParams;
  nodeTemplate: ArmNodeTemplate;
  retry?: Partial<ArmRetryPolicy>;
  /** Injectable for tests: the wait between attempts and the jitter source. */
  sleep?: ArmRetryDeps['sleep'];
  random?: ArmRetryDeps['random'];
  /** How often long-running operations are polled; default 2000 ms (the SDK's default). */
  pollIntervalMs?: number;
  log?: ArmProviderLog;
}

export class ArmScaleSetProvider implements ScaleSetProvider {
  readonly client: ComputeManagementClient;
  private readonly policy: ArmRetryPolicy;
  private readonly deps: ArmRetryDeps;
  private readonly pollIntervalMs: number;
  private sshPublicKey: string | undefined;

  constructor(private readonly options: ArmScaleSetProviderOptions) {
    this.client = new ComputeManagementClient(options.credential, options.subscriptionId, {
      ...options.clientOptions,
      endpoint: options.endpoint ?? DEFAULT_ARM_ENDPOINT,
      retryOptions: { maxRetries: 0 },
    });
    this.policy = { ...DEFAULT_ARM_RETRY, ...options.retry };
    this.deps = {
      sleep: options.sleep ?? realRetryDeps.sleep,
      random: options.random ?? realRetryDeps.random,
      ...(options.log ? { log: options.log } : {}),
    };
    this.pollIntervalMs = options.pollIntervalMs ?? 2_000;
  }

  scaleSetName(poolId: string, priority: NodePriority): string {
    return scaleSetName(this.options.scaleSetPrefix, poolId, priority);
  }

  async ensurePool(spec: PoolScaleSetSpec): Promise<void> {
    for (const priority of PRIORITIES) {
      const name = this.scaleSetName(spec.poolId, priority);
      const existing = await this.retry(`find scale set '${name}' of pool '${spec.poolId}'`, (signal) => this.findScaleSet(name, signal));
      if (existing) {
        if (existing.orchestrationMode && existing.orchestrationMode !== 'Flexible') {
          throw new ScaleSetError(
            'Failed',
            `Scale set '${name}' of pool '${spec.poolId}' uses ${existing.orchestrationMode} orchestration; fnbatch needs Flexible.`,
          );
        }
        continue;
      }
      await this.retry(`create scale set '${name}' for pool '${spec.poolId}'`, (signal) => this.createScaleSet(name, spec, priority, signal));
      this.options.log?.info(`ARM: created scale set '${name}' for pool '${spec.poolId}'`);
    }
  }

  async growTo(poolId: string, priority: NodePriority, capacity: number, signal?: AbortSignal): Promise<void> {
    if (!Number.isInteger(capacity) || capacity < 0) {
      throw new ScaleSetError('Failed', `Cannot grow pool '${poolId}' to ${capacity} nodes: the target must be a whole number of at least 0.`);
    }
    const name = this.scaleSetName(poolId, priority);
    const what = `grow scale set '${name}' of pool '${poolId}' to ${capacity} ${priority === 'dedicated' ? 'dedicated' : 'Spot'} nodes`;
    // Read and compare inside each attempt: after a failed attempt the capacity may have moved.
    await this.retry(
      what,
      async (callSignal) => {
        const set = await this.getScaleSetOrThrow(name, poolId, callSignal);
        const current = set.sku?.capacity ?? 0;
        if (current >= capacity) return;
        const poller = this.client.virtualMachineScaleSets.update(
          this.options.resourceGroup,
          name,
          { sku: { ...set.sku, capacity } },
          { abortSignal: callSignal, updateIntervalInMs: this.pollIntervalMs },
        );
        await poller.pollUntilDone({ abortSignal: callSignal });
        this.options.log?.info(`ARM: scale set '${name}' grown from ${current} to ${capacity}`);
      },
      signal,
    );
  }

  async deleteNodes(poolId: string, nodeIds: string[], signal?: AbortSignal): Promise<void> {
    if (nodeIds.length === 0) return;
    const wanted = new Set(nodeIds.map((id) => id.toLowerCase()));
    await this.retry(
      `delete nodes ${nodeIds.join(', ')} of pool '${poolId}'`,
      async (callSignal) => {
        // Listed afresh on every attempt, so VMs an earlier attempt already removed are not asked for again.
        const found = new Set<string>();
        for (const priority of PRIORITIES) {
          const name = this.scaleSetName(poolId, priority);
          const members = await this.listVms(name, callSignal);
          const victims = members
            .filter((vm) => vm.name && wanted.has(vm.name.toLowerCase()))
            .filter((vm) => {
              found.add(vm.name!.toLowerCase());
              return vm.provisioningState?.toLowerCase() !== 'deleting';
            })
            .map((vm) => vm.name!);
          if (victims.length === 0) continue;
          const poller = this.client.virtualMachineScaleSets.deleteInstances(
            this.options.resourceGroup,
            name,
            { instanceIds: victims },
            { abortSignal: callSignal, updateIntervalInMs: this.pollIntervalMs },
          );
          await poller.pollUntilDone({ abortSignal: callSignal });
          this.options.log?.info(`ARM: deleted ${victims.join(', ')} from scale set '${name}'`);
        }
        const missing = nodeIds.filter((id) => !found.has(id.toLowerCase()));
        if (missing.length > 0) this.options.log?.info(`ARM: nodes ${missing.join(', ')} of pool '${poolId}' were already gone`);
      },
      signal,
    );
  }

  async listNodes(poolId: string): Promise<ProvisionedNode[]> {
    const nodes: ProvisionedNode[] = [];
    for (const priority of PRIORITIES) {
      const name = this.scaleSetName(poolId, priority);
      const vms = await this.retry(`list the nodes of scale set '${name}' of pool '${poolId}'`, (signal) => this.listVms(name, signal, true));
      for (const vm of vms) {
        const node = nodeOfVm(vm, priority);
        if (node) nodes.push(node);
      }
    }
    return nodes;
  }

  async deletePool(poolId: string): Promise<void> {
    for (const priority of PRIORITIES) {
      const name = this.scaleSetName(poolId, priority);
      await this.retry(`delete scale set '${name}' of pool '${poolId}'`, async (signal) => {
        try {
          const poller = this.client.virtualMachineScaleSets.delete(this.options.resourceGroup, name, {
            abortSignal: signal,
            updateIntervalInMs: this.pollIntervalMs,
          });
          await poller.pollUntilDone({ abortSignal: signal });
        } catch (err) {
          if (classifyArmFailure(err).code !== 'NotFound') throw err;
        }
      });
    }
  }

  // ---- calls ---------------------------------------------------------------------------------

  private retry<T>(what: string, call: (signal: AbortSignal | undefined) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return withArmRetry(what, call, { policy: this.policy, deps: this.deps, ...(signal ? { signal } : {}) });
  }

  private async findScaleSet(name: string, signal: AbortSignal | undefined): Promise<VirtualMachineScaleSet | undefined> {
    try {
      return await this.client.virtualMachineScaleSets.get(this.options.resourceGroup, name, { abortSignal: signal });
    } catch (err) {
      if (classifyArmFailure(err).code === 'NotFound') return undefined;
      throw err;
    }
  }

  private async getScaleSetOrThrow(name: string, poolId: string, signal: AbortSignal | undefined): Promise<VirtualMachineScaleSet> {
    const set = await this.findScaleSet(name, signal);
    if (!set) {
      throw new ScaleSetError(
        'NotFound',
        `Scale set '${name}' of pool '${poolId}' does not exist in resource group '${this.options.resourceGroup}'; create the pool's scale sets first.`,
      );
    }
    return set;
  }

  private async createScaleSet(name: string, spec: PoolScaleSetSpec, priority: NodePriority, signal: AbortSignal | undefined): Promise<void> {
    const body = scaleSetForPool({
      name,
      location: this.options.location,
      spec,
      priority,
      template: this.options.nodeTemplate,
      sshPublicKey: this.options.nodeTemplate.sshPublicKey ?? (this.sshPublicKey ??= throwawaySshPublicKey()),
    });
    try {
      const poller = this.client.virtualMachineScaleSets.createOrUpdate(this.options.resourceGroup, name, body, {
        abortSignal: signal,
        updateIntervalInMs: this.pollIntervalMs,
        // Never overwrite a scale set that appeared since we looked (e.g. created by the infra).
        ifNoneMatch: '*',
      });
      await poller.pollUntilDone({ abortSignal: signal });
    } catch (err) {
      const failure = classifyArmFailure(err);
      if (failure.status === 403) {
        // In production the infra creates the scale sets and the app's identity may only update them.
        throw new ScaleSetError(
          'Failed',
          `Scale set '${name}' for pool '${spec.poolId}' does not exist in resource group '${this.options.resourceGroup}', ` +
            `and the app's identity is not allowed to create it (${failure.detail}). Create it with the infra templates ` +
            `or grant the identity Microsoft.Compute/virtualMachineScaleSets/write.`,
        );
      }
      if (failure.status === 412) return; // it exists now: someone else created it, which is all we wanted
      throw err;
    }
  }

  private async listVms(scaleSet: string, signal: AbortSignal | undefined, withInstanceView = false): Promise<VirtualMachine[]> {
    const id = `/subscriptions/${this.options.subscriptionId}/resourceGroups/${this.options.resourceGroup}/providers/Microsoft.Compute/virtualMachineScaleSets/${scaleSet}`;
    const vms: VirtualMachine[] = [];
    const pages = this.client.virtualMachines.list(this.options.resourceGroup, {
      filter: `'virtualMachineScaleSet/id' eq '${id}'`,
      ...(withInstanceView ? { expand: 'instanceView' } : {}),
      abortSignal: signal,
    });
    for await (const vm of pages) vms.push(vm);
    return vms;
  }
}

/**
 * The provider as the deployed app configures it, from the FNBATCH_* settings (see
 * shared/config/app-settings.ts). Authenticates as the app's user-assigned identity when
 * AZURE_CLIENT_ID is set, otherwise with DefaultAzureCredential (a developer's az login).
 * Throws naming every missing setting.
 */
export function createArmScaleSetProviderFromSettings(
  env: NodeJS.ProcessEnv = process.env,
  extra: Partial<Pick<ArmScaleSetProviderOptions, 'credential' | 'endpoint' | 'clientOptions' | 'log' | 'retry' | 'pollIntervalMs'>> & {
    nodeTemplate?: Partial<ArmNodeTemplate>;
  } = {},
): ArmScaleSetProvider {
  const required = [
    'FNBATCH_SUBSCRIPTION_ID',
    'FNBATCH_RESOURCE_GROUP',
    'FNBATCH_LOCATION',
    'FNBATCH_SCALE_SET_PREFIX',
    'FNBATCH_NODE_SUBNET_ID',
    'FNBATCH_NODE_IDENTITY_ID',
  ] as const;
  const missing = required.filter((name) => readSetting(name, env) === undefined);
  if (missing.length > 0) {
    throw new Error(`The Azure scale-set provider needs these app settings, which are not set: ${missing.join(', ')}`);
  }
  const setting = (name: (typeof required)[number]) => readSetting(name, env)!;
  const clientId = readSetting('AZURE_CLIENT_ID', env);
  const credential = extra.credential ?? (clientId ? new ManagedIdentityCredential({ clientId }) : new DefaultAzureCredential());
  const optional = (name: 'FNBATCH_NODE_IDENTITY_CLIENT_ID' | 'FNBATCH_AGENT_PACKAGE_URL') => readSetting(name, env);
  const nodeIdentityClientId = optional('FNBATCH_NODE_IDENTITY_CLIENT_ID');
  const agentPackageUrl = optional('FNBATCH_AGENT_PACKAGE_URL');
  return new ArmScaleSetProvider({
    subscriptionId: setting('FNBATCH_SUBSCRIPTION_ID'),
    resourceGroup: setting('FNBATCH_RESOURCE_GROUP'),
    location: setting('FNBATCH_LOCATION'),
    scaleSetPrefix: setting('FNBATCH_SCALE_SET_PREFIX'),
    credential,
    ...(extra.endpoint ? { endpoint: extra.endpoint } : {}),
    ...(extra.clientOptions ? { clientOptions: extra.clientOptions } : {}),
    ...(extra.log ? { log: extra.log } : {}),
    ...(extra.retry ? { retry: extra.retry } : {}),
    ...(extra.pollIntervalMs !== undefined ? { pollIntervalMs: extra.pollIntervalMs } : {}),
    nodeTemplate: {
      subnetId: setting('FNBATCH_NODE_SUBNET_ID'),
      nodeIdentityId: setting('FNBATCH_NODE_IDENTITY_ID'),
      ...(nodeIdentityClientId ? { nodeIdentityClientId } : {}),
      ...(agentPackageUrl ? { agentPackageUrl } : {}),
      ...extra.nodeTemplate,
    },
  });
}
