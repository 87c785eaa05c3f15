// Field paths shared by the document store adapters: partition key paths ("/jobId", "/job/id")
// and where-filter keys ("status", "spec.kind").

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** "/job/id" -> ["job", "id"]. Rejects anything that is not a plain field path. */
export function parsePartitionKeyPath(path: string): string[] {
  if (!path.startsWith('/')) throw new TypeError(`partition key path must start with "/": ${path}`);
  return checkedSegments(path.slice(1).split('/'), path);
}

/** "spec.kind" -> ["spec", "kind"]. Names are restricted so they can be spelled safely in SQL. */
export function parseFieldPath(field: string): string[] {
  return checkedSegments(field.split('.'), field);
}

function checkedSegments(segments: string[], original: string): string[] {
  if (segments.length === 0 || segments.some((s) => !FIELD_NAME.test(s))) {
    throw new TypeError(`not a plain field path: ${JSON.stringify(original)}`);
  }
  return segments;
}

export function valueAt(item: unknown, segments: readonly string[]): unknown {
  let current: unknown = item;
  for (const segment of segments) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** The item's partition key; the port only deals in string keys. */
export function partitionKeyOf(item: unknown, segments: readonly string[]): string {
  const value = valueAt(item, segments);
  if (typeof value !== 'string') {
    throw new TypeError(`item has no string partition key at /${segments.join('/')}`);
  }
  return value;
}

export function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0) throw new TypeError('item id must be a non-empty string');
}
