// The ARM shapes the scale-set provider writes and reads: the scale set it creates for a pool, and
// how a VM of a Flexible scale set becomes a ProvisionedNode.

import type { ImageReference, InstanceViewStatus, VirtualMachine, VirtualMachineScaleSet } from '@azure/arm-compute';
import type { NodePriority, PoolScaleSetSpec, ProvisionedNode, ProvisionedNodeState } from '../ports/scale-set-provider.js';

export interface ArmNodeTemplate {
  /** VM size for pools that name none (a pool's own vmSize wins). */
  vmSize?: string;
  /** Subnet for the node VMs; the VMs get no public IP. */
  subnetId: string;
  /** Resource id of the nodes' user-assigned identity. */
  nodeIdentityId: string;
  /** Client id of that identity, handed to the agent through the VM's user data. */
  nodeIdentityClientId?: string;
  /** cloud-init for the nodes, base64 (ARM's osProfile.customData). */
  customData?: string;
  /** Default: Ubuntu 22.04 LTS, generation 2. */
  imageReference?: ImageReference;
  /** Where the node's cloud-init fetches the agent from, passed in the user data. */
  agentPackageUrl?: string;
  /** Default "fnbatch". */
  adminUsername?: string;
  /** Default: the public half of a key nobody holds (see arm-ssh-key.ts). */
  sshPublicKey?: string;
  /** Default "StandardSSD_LRS". */
  osDiskType?: string;
}

export const DEFAULT_IMAGE: ImageReference = {
  publisher: 'Canonical',
  offer: '0001-com-ubuntu-server-jammy',
  sku: '22_04-lts-gen2',
  version: 'latest',
};

export const POOL_TAG = 'fnbatch-pool';
export const PRIORITY_TAG = 'fnbatch-priority';

/** What a node learns about its pool from the VM's user data (IMDS), as base64 JSON. */
export interface NodeUserData {
  poolId: string;
  isDedicated: boolean;
  taskSlots: number;
  startTask?: PoolScaleSetSpec['startTask'];
  nodeIdentityClientId?: string;
  agentPackageUrl?: string;
}

/**
 * The scale set ensurePool creates: Flexible orchestration, one fault domain (VMs spread by the
 * platform), zero instances, no public IPs; Spot with eviction by deletion and no price cap for
 * low-priority nodes. Pool settings reach the node through user data, which (unlike customData)
 * the VM can read from IMDS at any time; the start task's environment is visible there to anyone
 * who can read the scale set, as Batch's start task settings are.
 */
export function scaleSetForPool(args: {
  name: string;
  location: string;
  spec: PoolScaleSetSpec;
  priority: NodePriority;
  template: ArmNodeTemplate;
  sshPublicKey: string;
}): VirtualMachineScaleSet {
  const { name, location, spec, priority, template } = args;
  const userData: NodeUserData = {
    poolId: spec.poolId,
    isDedicated: priority === 'dedicated',
    taskSlots: spec.taskSlotsPerNode,
    ...(spec.startTask ? { startTask: spec.startTask } : {}),
    ...(template.nodeIdentityClientId ? { nodeIdentityClientId: template.nodeIdentityClientId } : {}),
    ...(template.agentPackageUrl ? { agentPackageUrl: template.agentPackageUrl } : {}),
  };
  const adminUsername = template.adminUsername ?? 'fnbatch';
  return {
    location,
    tags: { [POOL_TAG]: spec.poolId, [PRIORITY_TAG]: priority },
    sku: { name: spec.vmSize || template.vmSize, tier: 'Standard', capacity: 0 },
    identity: { type: 'UserAssigned', userAssignedIdentities: { [template.nodeIdentityId]: {} } },
    orchestrationMode: 'Flexible',
    platformFaultDomainCount: 1,
    singlePlacementGroup: false,
    virtualMachineProfile: {
      osProfile: {
        computerNamePrefix: computerNamePrefix(name),
        adminUsername,
        ...(template.customData ? { customData: template.customData } : {}),
        linuxConfiguration: {
          disablePasswordAuthentication: true,
          ssh: { publicKeys: [{ path: `/home/${adminUsername}/.ssh/authorized_keys`, keyData: args.sshPublicKey }] },
          provisionVMAgent: true,
        },
      },
      storageProfile: {
        imageReference: template.imageReference ?? DEFAULT_IMAGE,
        osDisk: {
          createOption: 'FromImage',
          caching: 'ReadWrite',
          deleteOption: 'Delete',
          managedDisk: { storageAccountType: template.osDiskType ?? 'StandardSSD_LRS' },
        },
      },
      networkProfile: {
        networkApiVersion: '2020-11-01',
        networkInterfaceConfigurations: [
          {
            name: 'nic',
            primary: true,
            deleteOption: 'Delete',
            ipConfigurations: [{ name: 'ipconfig', primary: true, subnet: { id: template.subnetId } }],
          },
        ],
      },
      userData: Buffer.from(JSON.stringify(userData)).toString('base64'),
      ...(priority === 'lowPriority'
        ? { priority: 'Spot', evictionPolicy: 'Delete', billingProfile: { maxPrice: -1 } }
        : { priority: 'Regular' }),
    },
  };
}

/** Host names are the prefix plus a 6-character suffix; keep the prefix short and DNS-safe. */
function computerNamePrefix(scaleSetName: string): string {
  return scaleSetName.replace(/[^a-zA-Z0-9-]/g, '-').slice(0, 15).replace(/-+$/, '') || 'fnbatch';
}

/**
 * A VM of a Flexible scale set as a node. The mapping:
 * - provisioningState Creating → creating; Succeeded/Updating/Migrating → running;
 *   Failed → failed; Deleting → deleting; anything else (unknown, new states) → creating, so the
 *   control plane waits for the node's agent rather than trusting the VM.
 * - Power state (from the instance view) deallocated/deallocating on a Spot VM → evicted: that is how
 *   a Spot VM with evictionPolicy Deallocate looks after eviction. A dedicated VM that is deallocated
 *   or any VM that is stopped was stopped by someone else and cannot run tasks → failed.
 * - A Spot VM with evictionPolicy Delete (what ensurePool creates) is deleted by the platform on
 *   eviction: it goes Deleting (→ deleting) and then is simply absent from the list. The provider
 *   keeps no memory between calls, so the control plane treats a node it knows that is no longer
 *   listed as gone (evicted, for a Spot node).
 */
export function nodeOfVm(vm: VirtualMachine, priority: NodePriority): ProvisionedNode | undefined {
  if (!vm.name) return undefined;
  const createdAt = vm.timeCreated instanceof Date && !Number.isNaN(vm.timeCreated.getTime()) ? vm.timeCreated.getTime() : undefined;
  return {
    nodeId: vm.name,
    priority,
    state: stateOfVm(vm, priority),
    ...(createdAt !== undefined ? { createdAt } : {}),
  };
}

export function stateOfVm(vm: VirtualMachine, priority: NodePriority): ProvisionedNodeState {
  const provisioning = (vm.provisioningState ?? statusValue(vm.instanceView?.statuses, 'ProvisioningState/') ?? '').toLowerCase();
  const power = statusValue(vm.instanceView?.statuses, 'PowerState/')?.toLowerCase();
  const spot = priority === 'lowPriority' || vm.priority?.toLowerCase() === 'spot';
  switch (provisioning) {
    case 'deleting':
      return 'deleting';
    case 'failed':
      return 'failed';
    case 'creating':
      return 'creating';
    case 'succeeded':
    case 'updating':
    case 'migrating':
      if (power === 'deallocated' || power === 'deallocating') return spot ? 'evicted' : 'failed';
      if (power === 'stopped' || power === 'stopping') return 'failed';
      return 'running';
    default:
      return 'creating';
  }
}

function statusValue(statuses: InstanceViewStatus[] | undefined, prefix: string): string | undefined {
  const status = statuses?.find((s) => s.code?.startsWith(prefix));
  return status?.code?.slice(prefix.length);
}
