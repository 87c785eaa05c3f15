// Where a pool's compute nodes come from. On Azure: a Flexible-orchestration VM scale set for
// dedicated nodes and one with Spot priority for low-priority nodes. Locally: agent processes.
// Scale-down never lowers a capacity and lets the platform pick victims: the control plane names
// the (idle or drained) nodes to delete.

export type NodePriority = 'dedicated' | 'lowPriority';

export interface PoolScaleSetSpec {
  poolId: string;
  vmSize: string;
  taskSlotsPerNode: number;
  /** Commands run on each node before it takes work (Batch's startTask). */
  startTask?: { commandLine: string; environmentSettings: { name: string; value: string }[]; waitForSuccess: boolean };
}

export type ProvisionedNodeState = 'creating' | 'running' | 'failed' | 'deleting' | 'evicted';

export interface ProvisionedNode {
  nodeId: string;
  priority: NodePriority;
  state: ProvisionedNodeState;
  /** Epoch milliseconds, when known. */
  createdAt?: number;
}

export type ScaleSetErrorCode = 'Throttled' | 'QuotaExceeded' | 'NotFound' | 'Conflict' | 'Failed' | 'Canceled';

export class ScaleSetError extends Error {
  constructor(
    readonly code: ScaleSetErrorCode,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ScaleSetError';
  }
}

export interface ScaleSetProvider {
  /** Creates the pool's scale sets if missing (idempotent), starting at zero instances. */
  ensurePool(spec: PoolScaleSetSpec): Promise<void>;
  /** Grows the dedicated or Spot scale set to `capacity` instances; never shrinks it. */
  growTo(poolId: string, priority: NodePriority, capacity: number, signal?: AbortSignal): Promise<void>;
  /** Deletes exactly these nodes (already idle or drained). */
  deleteNodes(poolId: string, nodeIds: string[], signal?: AbortSignal): Promise<void>;
  listNodes(poolId: string): Promise<ProvisionedNode[]>;
  /** Deletes the pool's scale sets and all their nodes. */
  deletePool(poolId: string): Promise<void>;
}

/**
 * The scale sets of a pool on Azure: `<prefix>-<pool>-dedicated` and `<prefix>-<pool>-spot`, with the
 * pool id lower-cased and anything but letters, digits and hyphens replaced by a hyphen. The infra
 * templates create them with these names and the ARM provider finds them by these names.
 */
export function scaleSetName(prefix: string, poolId: string, priority: NodePriority): string {
  const pool = poolId.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
  return `${prefix}-${pool}-${priority === 'dedicated' ? 'dedicated' : 'spot'}`;
}
