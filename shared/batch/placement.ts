// Batch's taskSchedulingPolicy.nodeFillType. Nodes pull their work from the pool's queue, so
// placement is kept by the nodes themselves, from what the control plane last told them of the
// others (see shared/app/placement-advice.ts):
// - 'pack': each node's slots are filled before the next node gets work. A node holds back from
//   new work while a node pack fills before it still has a free slot. Pack's order: most slots in
//   use first, then node id, so idle nodes take turns in a fixed order rather than all at once.
// - 'spread' (Batch's default): tasks go across the nodes, idle nodes first. While other nodes
//   run nothing, a node running tasks leaves one message at the front of the queue to each of
//   them for a moment (taking any beyond those at once), and an idle node takes one task at a
//   time. Beyond that, nodes take what they have room for: finer balance would hold back nodes on
//   news of loads that change by the moment, and delay every task.

export interface NodeOccupancy {
  nodeId: string;
  /** Slots its running tasks take. */
  usedSlots: number;
  taskSlots: number;
}

function packsBefore(a: NodeOccupancy, b: NodeOccupancy): boolean {
  return a.usedSlots > b.usedSlots || (a.usedSlots === b.usedSlots && a.nodeId < b.nodeId);
}

/** Whether `node` should leave new work to one of `others` (the pool's usable nodes) under pack. */
export function packHoldsBack(node: NodeOccupancy, others: readonly NodeOccupancy[]): boolean {
  return others.some((other) => other.nodeId !== node.nodeId && other.usedSlots < other.taskSlots && packsBefore(other, node));
}

/** Under spread: how many other usable nodes of the pool run nothing. */
export function spreadIdlePeers(node: NodeOccupancy, others: readonly NodeOccupancy[]): number {
  return others.filter((other) => other.nodeId !== node.nodeId && other.usedSlots === 0 && other.taskSlots > 0).length;
}

/** Under spread: whether a node using `usedSlots` should leave new work to idle peers. */
export function spreadHoldsBack(usedSlots: number, idlePeers: number | undefined): boolean {
  return (idlePeers ?? 0) > 0 && usedSlots > 0;
}

/**
 * Under spread: how many new tasks a node using `usedSlots` takes at once. An idle node with an
 * idle peer takes one, so that a burst of a few tasks starts one on each idle node.
 */
export function spreadTakesAtMost(usedSlots: number, idlePeers: number | undefined): number {
  return (idlePeers ?? 0) > 0 && usedSlots === 0 ? 1 : Number.POSITIVE_INFINITY;
}

/** The most messages a node looks at, at the front of its queue, to hold back (Storage's peek limit). */
export const PEEK_LIMIT = 32;

/** What the control plane last told a node of the others (its heartbeat's answer). */
export interface PlacementNews {
  /** Pack: another node comes first and has room. */
  holdBack?: boolean;
  /** Spread: how many other nodes run nothing (see spreadIdlePeers); absent when none. */
  idlePeers?: number;
}

/** A node holding back, given the front of its queue: look again after `waitMs`, or take up to `take` messages now. */
export type HoldDecision = { waitMs: number } | { take: number };

/**
 * Whether, and for how long, a node leaves the messages at the front of its queue to other nodes.
 * It leaves them for a while from when it first saw the first of them there (Storage's insertion
 * times are whole seconds, and from another machine's clock), then takes them.
 * Under spread a node leaves one message to each idle peer, and takes any beyond those at once:
 * a burst larger than the idle nodes can start is no reason to wait. The news is of nodes whose
 * load changes by the moment, and may be out of date when it arrives: a hold that runs out with
 * the message still there shows it is, so the node holds no more until the next answer. Otherwise
 * two nodes that each think the other idle would both hold every message.
 */
export class HoldBack {
  private seen: { messageId: string; at: number } | undefined;
  private spreadSpent = false;

  constructor(private readonly holdMs: { pack: number; spread: number }) {}

  /** A new answer: its news of the other nodes is fresh. */
  answered(): void {
    this.spreadSpent = false;
  }

  /** Whether a node using `usedSlots` holds back under `news`, before it looks at the queue. */
  holding(news: PlacementNews, usedSlots: number): boolean {
    return news.holdBack === true || (!this.spreadSpent && spreadHoldsBack(usedSlots, news.idlePeers));
  }

  /** While holding: how many messages at the front of the queue to look at, for a node that wants `wanted`. */
  looksAt(news: PlacementNews, wanted: number): number {
    if (news.holdBack === true) return 1;
    return Math.max(1, Math.min(PEEK_LIMIT, (news.idlePeers ?? 0) + wanted));
  }

  /** While holding, with `front` the ids of the messages at the front of the queue now (at least one), first first. */
  decide(front: readonly string[], now: number, news: PlacementNews): HoldDecision {
    const pack = news.holdBack === true;
    if (!pack) {
      const beyondIdlePeers = front.length - (news.idlePeers ?? 0);
      if (beyondIdlePeers > 0) return { take: beyondIdlePeers };
    }
    const messageId = front[0]!;
    if (this.seen?.messageId !== messageId) this.seen = { messageId, at: now };
    const remaining = Math.max(0, this.seen.at + (pack ? this.holdMs.pack : this.holdMs.spread) - now);
    if (remaining > 0) return { waitMs: remaining };
    if (!pack) this.spreadSpent = true;
    return { take: Number.POSITIVE_INFINITY };
  }
}
