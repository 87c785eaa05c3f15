// An AppContext over the simulator's store, queues and provider: what shared/app/context.ts
// builds from app settings, built per simulated thread (each with its own scheduling points).
import { poolQueueName } from '../shared/agent-protocol.js';
import type { AppContext } from '../shared/app/context.js';
import { CONTAINERS, type JobDoc, type NodeDoc, type PoolDoc, type TaskDoc } from '../shared/app/documents.js';
import { WorkSignal } from '../shared/app/work-signal.js';
import type { DocumentStore } from '../shared/ports/document-store.js';
import type { ScaleSetProvider } from '../shared/ports/scale-set-provider.js';
import type { WorkQueue } from '../shared/ports/work-queue.js';

/** Queue names hash the pool id (sha256); every request asks for one, so they are kept. */
const queueNames = new Map<string, string>();

function queueName(poolId: string, band: Parameters<typeof poolQueueName>[1]): string {
  const key = `${poolId}|${band}`;
  let name = queueNames.get(key);
  if (name === undefined) queueNames.set(key, (name = poolQueueName(poolId, band)));
  return name;
}

export async function contextOver(
  store: DocumentStore,
  queue: (name: string) => WorkQueue,
  scaleSets: ScaleSetProvider,
  now: () => number,
): Promise<AppContext> {
  const [jobs, tasks, pools, nodes] = await Promise.all([
    store.container<JobDoc>(CONTAINERS.jobs.name, CONTAINERS.jobs.partitionKeyPath),
    store.container<TaskDoc>(CONTAINERS.tasks.name, CONTAINERS.tasks.partitionKeyPath),
    store.container<PoolDoc>(CONTAINERS.pools.name, CONTAINERS.pools.partitionKeyPath),
    store.container<NodeDoc>(CONTAINERS.nodes.name, CONTAINERS.nodes.partitionKeyPath),
  ]);
  return {
    jobs,
    tasks,
    pools,
    nodes,
    queue: async (poolId, band) => queue(queueName(poolId, band)),
    outputs: () => Promise.reject(new Error('task outputs are not simulated')),
    scaleSets: async () => scaleSets,
    now,
    // The simulated nodes find their work by receiving from the queues; none waits on the signal.
    workSignal: new WorkSignal(false),
  };
}
