// Continuation tokens for keyset paging: a page ends at some (id, partition key) and the next page
// starts strictly after it. Unlike offsets, this never repeats or skips an item that existed for
// the whole listing, whatever is written in between. Every adapter uses the same ordering and
// token format, so a token means the same thing everywhere.

export interface PagePosition {
  id: string;
  /** Set for cross-partition listings, which order by id then partition key. */
  pk?: string;
}

export function encodeContinuation(position: PagePosition): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

export function decodeContinuation(token: string): PagePosition {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (parsed && typeof parsed === 'object' && typeof (parsed as PagePosition).id === 'string') {
      const { id, pk } = parsed as PagePosition;
      return typeof pk === 'string' ? { id, pk } : { id };
    }
  } catch {
    // fall through to the error below
  }
  throw new TypeError('malformed continuation token');
}

/** Ordinal string order (UTF-16 code units), the same order Cosmos DB's ORDER BY gives ASCII ids. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function isAfter(id: string, pk: string, position: PagePosition | undefined): boolean {
  if (!position) return true;
  const byId = compareStrings(id, position.id);
  if (byId !== 0) return byId > 0;
  return position.pk !== undefined && compareStrings(pk, position.pk) > 0;
}

export function checkLimit(limit: number | undefined): void {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new RangeError(`limit must be a positive integer, got ${limit}`);
  }
}
