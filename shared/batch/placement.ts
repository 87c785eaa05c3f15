// Batch's taskSchedulingPolicy.nodeFillType 'pack': each node's slots are filled before the next
// node gets work. Nodes pull their work from the pool's queue, so pack is kept by the nodes it
// does not favour: each holds back from new work while a node pack fills before it still has a
// free slot. Pack's order: most slots in use first, then node id, so idle nodes take turns in a
// fixed order rather than all at once.

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

/**
 * A node holding back leaves the message at the front of its queue to the favoured node for
 * `holdMs` from when it first saw it there: Storage's insertion times are whole seconds, and from
 * another machine's clock.
 */
export class FrontHold {
  private seen: { messageId: string; at: number } | undefined;

  constructor(private readonly holdMs: number) {}

  /** How much longer to leave `messageId`, at the front now, alone; 0 once its time is up. */
  remainingMs(messageId: string, now: number): number {
    if (this.seen?.messageId !== messageId) this.seen = { messageId, at: now };
    return Math.max(0, this.seen.at + this.holdMs - now);
  }
}
