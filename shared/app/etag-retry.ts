import { isStoreError } from '../ports/errors.js';
import type { Container, DocumentItem, Stored } from '../ports/document-store.js';
import { defect } from './defects.js';

/**
 * Read-modify-write guarded by the item's ETag, retried when another writer got there first.
 * `change` returns the new item, or undefined to leave it as it is.
 */
export async function updateWithRetry<T extends DocumentItem>(
  container: Container<T>,
  id: string,
  partitionKey: string,
  change: (current: Stored<T>) => T | undefined | Promise<T | undefined>,
  attempts = 8,
): Promise<{ before: Stored<T>; after?: Stored<T> } | undefined> {
  for (let attempt = 1; ; attempt++) {
    const current = await container.read(id, partitionKey);
    if (!current) return undefined;
    const next = await change(current);
    if (next === undefined) return { before: current };
    try {
      return { before: current, after: await (defect('missing-etag-check') ? container.upsert(next) : container.replace(next, { ifMatch: current.etag })) };
    } catch (err) {
      if (isStoreError(err, 'PreconditionFailed') && attempt < attempts) continue;
      throw err;
    }
  }
}

