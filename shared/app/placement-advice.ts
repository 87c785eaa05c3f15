// The control plane's part of task placement (see shared/batch/placement.ts): each heartbeat is
// answered with what the node should know of the other nodes of its pool: under pack, whether to
// hold back; under spread, how many other nodes are idle. The pool's node documents are read at
// most once a second per process; the heartbeats this process handles keep their own nodes'
// entries current in between, so a pool's heartbeats (two a second per node) do not each cost a
// query of every node.
import type { HeartbeatResponse } from '../agent-protocol.js';
import { packHoldsBack, spreadIdlePeers, type NodeOccupancy } from '../batch/placement.js';
import type { AppContext } from './context.js';
import { poolKey, type NodeDoc, type PoolDoc } from './documents.js';
import { isSilent, NODE_OFFLINE_AFTER_MS } from './node-health.js';

/** How long a pool's node documents, as last read, stand in for a new query. */
const POOL_VIEW_MS = 1_000;

interface PoolView {
  readAt: number;
  nodes: Map<string, NodeDoc>;
}

const views = new WeakMap<AppContext, Map<string, PoolView>>();

export type PlacementAdvice = Pick<HeartbeatResponse, 'holdBack' | 'idlePeers'>;

/** What `node` (as its heartbeat just wrote it) should know of the other usable nodes of its pool. */
export async function placementAdvice(ctx: AppContext, node: NodeDoc, fill: PoolDoc['taskSchedulingPolicy']['nodeFillType']): Promise<PlacementAdvice> {
  const nodes = await poolNodes(ctx, node);
  const others = nodes.filter((other) => other.nodeId !== node.nodeId && usable(ctx, other)).map(occupancy);
  if (fill === 'pack') return { holdBack: packHoldsBack(occupancy(node), others) };
  const idlePeers = spreadIdlePeers(occupancy(node), others);
  return idlePeers > 0 ? { idlePeers } : {};
}

async function poolNodes(ctx: AppContext, node: NodeDoc): Promise<NodeDoc[]> {
  let pools = views.get(ctx);
  if (!pools) views.set(ctx, (pools = new Map()));
  let view = pools.get(node.poolId);
  if (!view || ctx.now() - view.readAt >= POOL_VIEW_MS) {
    view = { readAt: ctx.now(), nodes: new Map() };
    for (let page = await ctx.nodes.query(poolKey(node.poolId)); ; ) {
      for (const { item } of page.items) view.nodes.set(item.nodeId, item);
      if (!page.continuation) break;
      page = await ctx.nodes.query(poolKey(node.poolId), { continuation: page.continuation });
    }
    pools.set(node.poolId, view);
  }
  view.nodes.set(node.nodeId, node);
  return [...view.nodes.values()];
}

function usable(ctx: AppContext, node: NodeDoc): boolean {
  return (node.state === 'idle' || node.state === 'running') && !node.drain && !node.shutdown && !isSilent(ctx, node.lastHeartbeatAt, NODE_OFFLINE_AFTER_MS);
}

function occupancy(node: NodeDoc): NodeOccupancy {
  return { nodeId: node.nodeId, taskSlots: node.taskSlots, usedSlots: node.runningTasks.reduce((sum, task) => sum + (task.slots ?? 1), 0) };
}
