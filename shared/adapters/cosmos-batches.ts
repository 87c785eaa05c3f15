// How Container.createMany's items are split into Cosmos DB transactional batches: one partition
// key per batch, at most CREATE_MANY_BATCH operations, and a bounded body (the service refuses a
// batch request over 2 MB).

import { CREATE_MANY_BATCH } from '../ports/document-store.js';

/** Well under the service's 2 MB request limit, leaving room for the batch's own framing. */
export const BATCH_BODY_BYTES = 1_000_000;

export interface Batch {
  partitionKey: string;
  /** Indexes into the items given. */
  indexes: number[];
}

/** Items in order of first appearance of their partition key, each batch in the items' order. */
export function splitIntoBatches(partitionKeys: readonly string[], sizes: readonly number[]): Batch[] {
  const batches: Batch[] = [];
  const open = new Map<string, { batch: Batch; bytes: number }>();
  partitionKeys.forEach((partitionKey, index) => {
    const size = sizes[index]!;
    let current = open.get(partitionKey);
    if (!current || current.batch.indexes.length >= CREATE_MANY_BATCH || current.bytes + size > BATCH_BODY_BYTES) {
      current = { batch: { partitionKey, indexes: [] }, bytes: 0 };
      open.set(partitionKey, current);
      batches.push(current.batch);
    }
    current.batch.indexes.push(index);
    current.bytes += size;
  });
  return batches;
}
