// A model of the ScaleSetProvider port in virtual time: growTo sets the capacity at once (new
// instances are `creating`) and resolves when they are all running, after the provisioning delay,
// like a scale-set update awaited to completion; aborting it cancels the instances it asked for
// that are not running yet. Evicted instances stop counting toward capacity, as Spot evictions do.
import { ScaleSetError, type NodePriority, type PoolScaleSetSpec, type ProvisionedNode, type ScaleSetProvider } from '../../../shared/ports/scale-set-provider.js';
import type { VirtualClock } from '../../../local-host/virtual-clock.js';

interface ModelNode extends ProvisionedNode {
  readyAt: number;
}

export interface GrowCall {
  priority: NodePriority;
  capacity: number;
  at: number;
  outcome?: 'done' | 'canceled';
}

export class ModelScaleSetProvider implements ScaleSetProvider {
  readonly nodes = new Map<string, ModelNode>();
  readonly growCalls: GrowCall[] = [];
  readonly deleteCalls: { nodeIds: string[]; at: number }[] = [];
  private next = 1;
  private spec?: PoolScaleSetSpec;

  constructor(
    private readonly clock: VirtualClock,
    private readonly provisioningMs: number,
  ) {}

  async ensurePool(spec: PoolScaleSetSpec): Promise<void> {
    this.spec = spec;
  }

  growTo(poolId: string, priority: NodePriority, capacity: number, signal?: AbortSignal): Promise<void> {
    const call: GrowCall = { priority, capacity, at: this.clock.now() };
    this.growCalls.push(call);
    const counted = [...this.nodes.values()].filter((n) => n.priority === priority && n.state !== 'evicted');
    const added: ModelNode[] = [];
    for (let i = counted.length; i < capacity; i++) {
      const nodeId = `${poolId}-${priority === 'dedicated' ? 'd' : 'lp'}${this.next++}`;
      const node: ModelNode = { nodeId, priority, state: 'creating', createdAt: this.clock.now(), readyAt: this.clock.now() + this.provisioningMs };
      this.nodes.set(nodeId, node);
      added.push(node);
    }
    return new Promise<void>((resolve, reject) => {
      const cancelTimer = this.clock.setTimer(this.provisioningMs, () => {
        signal?.removeEventListener('abort', onAbort);
        call.outcome = 'done';
        resolve();
      });
      const onAbort = () => {
        cancelTimer();
        for (const node of added) if (this.refresh(node).state === 'creating') this.nodes.delete(node.nodeId);
        call.outcome = 'canceled';
        reject(new ScaleSetError('Canceled', 'growTo was canceled'));
      };
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async deleteNodes(_poolId: string, nodeIds: string[]): Promise<void> {
    this.deleteCalls.push({ nodeIds, at: this.clock.now() });
    for (const id of nodeIds) this.nodes.delete(id);
  }

  async listNodes(): Promise<ProvisionedNode[]> {
    return [...this.nodes.values()].map((n) => {
      const { readyAt: _r, ...listed } = this.refresh(n);
      return listed;
    });
  }

  async deletePool(): Promise<void> {
    this.nodes.clear();
  }

  evict(nodeId: string): void {
    const node = this.nodes.get(nodeId);
    if (node) node.state = 'evicted';
  }

  running(): ModelNode[] {
    return [...this.nodes.values()].map((n) => this.refresh(n)).filter((n) => n.state === 'running');
  }

  get slots(): number {
    return this.spec?.taskSlotsPerNode ?? 1;
  }

  private refresh(node: ModelNode): ModelNode {
    if (node.state === 'creating' && this.clock.now() >= node.readyAt) node.state = 'running';
    return node;
  }
}
