// Batch's taskSchedulingPolicy.nodeFillType. Nodes pull their work from the pool's queue, so
// placement is kept by the nodes themselves, from what the control plane last told them of the
// others (see shared/app/placement-advice.ts):
// - 'pack': each node's slots are filled before the next node gets work. A node holds back from
//   new work while a node pack fills before it still has a free slot. Pack's order: most slots in
//   use first, then node id, so idle nodes take turns in a fixed order rather than all at once.
// - 'spread' (Batch's default): tasks go across the nodes, idle nodes first. While another node
//   runs nothing, a node running tasks holds back from new work for a moment, and an idle node
//   takes one task at a time. Beyond that, nodes take what they have room for: finer balance
//   would hold back nodes on news of loads that change by the moment, and delay every task.

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

/** Under spread: whether another usable node of the pool runs nothing. */
export function spreadIdlePeer(node: NodeOccupancy, others: readonly NodeOccupancy[]): boolean {
  return others.some((other) => other.nodeId !== node.nodeId && other.usedSlots === 0 && other.taskSlots > 0);
}

/** Under spread: whether a node using `usedSlots` should leave new work to an idle peer. */
export function spreadHoldsBack(usedSlots: number, idlePeer: boolean | undefined): boolean {
  return idlePeer === true && usedSlots > 0;
}

/**
 * Under spread: how many new tasks a node using `usedSlots` takes at once. An idle node with an
 * idle peer takes one, so that a burst of a few tasks starts one on each idle node.
 */
export function spreadTakesAtMost(usedSlots: number, idlePeer: boolean | undefined): number {
  return idlePeer === true && usedSlots === 0 ? 1 : Number.POSITIVE_INFINITY;
}

/** What the control plane last told a node of the others (its heartbeat's answer). */
export interface PlacementNews {
  /** Pack: another node comes first and has room. */
  holdBack?: boolean;
  /** Spread: another node runs nothing (see spreadIdlePeer). */
  idlePeer?: boolean;
}

/**
 * Whether, and for how long, a node leaves the message at the front of its queue to another node.
 * It leaves it for a while from when it first saw it there (Storage's insertion times are whole
 * seconds, and from another machine's clock), then takes it.
 * Under spread the news is of nodes whose load changes by the moment, and may be out of date when
 * it arrives: a hold that runs out with the message still there shows it is, so the node holds no
 * more until the next answer. Otherwise two nodes that each think the other idle would both hold
 * every message.
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
    return news.holdBack === true || (!this.spreadSpent && spreadHoldsBack(usedSlots, news.idlePeer));
  }

  /** While holding: how much longer to leave `messageId`, at the front now, alone; 0 once the hold is up. */
  remainingMs(messageId: string, now: number, news: PlacementNews): number {
    if (this.seen?.messageId !== messageId) this.seen = { messageId, at: now };
    const pack = news.holdBack === true;
    const remaining = Math.max(0, this.seen.at + (pack ? this.holdMs.pack : this.holdMs.spread) - now);
    if (remaining === 0 && !pack) this.spreadSpent = true;
    return remaining;
  }
}
