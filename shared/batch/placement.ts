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
