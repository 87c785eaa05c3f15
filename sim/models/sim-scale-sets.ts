// The node provider as a model of VM scale sets: growing adds nodes that take a while to boot,
// calls can fail (throttling, transient errors) as the seed decides, and the world may evict Spot
// nodes or lose VMs. Node ids are counters, so a run is repeatable.
import type { NodePriority, PoolScaleSetSpec, ProvisionedNode, ProvisionedNodeState, ScaleSetProvider } from '../../shared/ports/scale-set-provider.js';
import { ScaleSetError } from '../../shared/ports/scale-set-provider.js';
import type { Clock } from '../../local-host/contracts.js';
import type { Kernel, SimThread } from '../kernel.js';
import type { Prng } from '../prng.js';

export interface ScaleSetFaults {
  /** Chance that a growTo or deleteNodes call fails. */
  callFailure: number;
  /** How long a new VM takes to boot, in ms. */
  bootMs: [number, number];
}

export interface SimVm {
  nodeId: string;
  poolId: string;
  priority: NodePriority;
  state: ProvisionedNodeState;
  readyAt: number;
  taskSlots: number;
}

export class SimScaleSets {
  readonly vms = new Map<string, SimVm>();
  private readonly specs = new Map<string, PoolScaleSetSpec>();
  private counter = 0;

  constructor(
    private readonly clock: Clock,
    private readonly kernel: Kernel,
    private readonly prng: Prng,
    private readonly faults: ScaleSetFaults,
    private readonly note: (line: string) => void,
  ) {}

  /** The provider as setup code reaches it: no scheduling points, no faults. */
  direct(): ScaleSetProvider {
    return this.providerFor(undefined);
  }

  forThread(thread: SimThread): ScaleSetProvider {
    return this.providerFor(thread);
  }

  /** VMs whose boot time has come and that are still 'creating'. */
  bootable(now: number): SimVm[] {
    return [...this.vms.values()].filter((vm) => vm.state === 'creating' && vm.readyAt <= now);
  }

  nextBootAt(): number | undefined {
    let at: number | undefined;
    for (const vm of this.vms.values()) if (vm.state === 'creating' && (at === undefined || vm.readyAt < at)) at = vm.readyAt;
    return at;
  }

  private providerFor(thread: SimThread | undefined): ScaleSetProvider {
    const gate = async (label: string, failable: boolean) => {
      if (!thread) return;
      await this.kernel.point(thread, label);
      if (failable && this.faults.callFailure > 0 && this.prng.chance(this.faults.callFailure)) {
        const code = this.prng.chance(0.5) ? 'Throttled' : 'Failed';
        this.note(`fault: scale set call '${label}' fails (${code})`);
        throw new ScaleSetError(code, `simulated ${code} on ${label}`, code === 'Throttled' ? 1000 : undefined);
      }
    };
    return {
      ensurePool: async (spec) => {
        await gate(`ensurePool ${spec.poolId}`, false);
        this.specs.set(spec.poolId.toLowerCase(), spec);
      },
      growTo: async (poolId, priority, capacity) => {
        await gate(`growTo ${poolId} ${priority} ${capacity}`, true);
        const live = this.poolVms(poolId).filter((vm) => vm.priority === priority && (vm.state === 'creating' || vm.state === 'running'));
        const spec = this.specs.get(poolId.toLowerCase());
        for (let i = live.length; i < capacity; i++) {
          const nodeId = `${priority === 'dedicated' ? 'd' : 's'}${++this.counter}`;
          const bootMs = this.prng.between(this.faults.bootMs[0], this.faults.bootMs[1]);
          this.vms.set(nodeId, { nodeId, poolId, priority, state: 'creating', readyAt: this.clock.now() + bootMs, taskSlots: spec?.taskSlotsPerNode ?? 1 });
        }
      },
      deleteNodes: async (poolId, nodeIds) => {
        await gate(`deleteNodes ${poolId} [${nodeIds.join(',')}]`, true);
        for (const id of nodeIds) {
          const vm = this.vms.get(id);
          if (vm && vm.poolId.toLowerCase() === poolId.toLowerCase()) this.vms.delete(id);
        }
      },
      listNodes: async (poolId) => {
        await gate(`listNodes ${poolId}`, false);
        return this.poolVms(poolId).map((vm): ProvisionedNode => ({ nodeId: vm.nodeId, priority: vm.priority, state: vm.state, createdAt: vm.readyAt }));
      },
      deletePool: async (poolId) => {
        await gate(`deletePool ${poolId}`, false);
        for (const vm of this.poolVms(poolId)) this.vms.delete(vm.nodeId);
        this.specs.delete(poolId.toLowerCase());
      },
    };
  }

  private poolVms(poolId: string): SimVm[] {
    const key = poolId.toLowerCase();
    return [...this.vms.values()].filter((vm) => vm.poolId.toLowerCase() === key).sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));
  }
}
