// A deep copy of a document as JSON would carry it (what Cosmos DB stores): objects and arrays are
// copied, an object property that is undefined is left out and an array's becomes null, as
// JSON.stringify does. Anything JSON cannot carry faithfully (a Date, a Map, a class instance, a
// function, a symbol, a bigint, a number that is not finite) is refused with a TypeError naming
// where it is, so a local store can never hold what Cosmos DB would hand back changed.
// A tenth of the cost of structuredClone for a task document, which the stores copy several times
// per request. Not shared/plain-copy.ts's plainCopy, which copies as structuredClone does (Dates,
// undefined and all) for the Durable backend's and the simulator's own state: a store must refuse
// what Cosmos DB would hand back changed.

/** Copies `value`, refusing what JSON cannot carry (see above). */
export function clonePlainData<T>(value: T): T {
  try {
    return copy(value) as T;
  } catch (error) {
    if (!(error instanceof NotPlainData)) throw error;
    // Only now is the path worth building: the copy itself carries none, as it would cost a
    // string per field of every document copied.
    throw new TypeError(describeFirstNonPlain(value, '') ?? `the document is a ${typeof value}, not plain data`);
  }
}

/** Copies what a store already holds: proven plain when it was written, so nothing is checked. */
export function copyStoredData<T>(value: T): T {
  return copyTrusted(value) as T;
}

class NotPlainData extends Error {}

function copy(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new NotPlainData();
      return value;
    case 'object': {
      if (value === null) return null;
      if (Array.isArray(value)) {
        const copied = new Array<unknown>(value.length);
        for (let i = 0; i < value.length; i++) copied[i] = value[i] === undefined ? null : copy(value[i]);
        return copied;
      }
      const prototype = Object.getPrototypeOf(value) as unknown;
      if (prototype !== Object.prototype && prototype !== null) throw new NotPlainData();
      const copied: Record<string, unknown> = {};
      const keys = Object.keys(value);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const field = (value as Record<string, unknown>)[key];
        if (field !== undefined) copied[key] = copy(field);
      }
      return copied;
    }
    default:
      throw new NotPlainData();
  }
}

function copyTrusted(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const copied = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) copied[i] = copyTrusted(value[i]);
    return copied;
  }
  const copied: Record<string, unknown> = {};
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) copied[keys[i]!] = copyTrusted((value as Record<string, unknown>)[keys[i]!]);
  return copied;
}

/** Where `value` first holds what JSON cannot carry, as a sentence; undefined if nowhere. */
function describeFirstNonPlain(value: unknown, at: string): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${where(at)} is ${value}, which JSON cannot hold`;
    case 'object': {
      if (value === null) return undefined;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const found = describeFirstNonPlain(value[i], `${at}[${i}]`);
          if (found) return found;
        }
        return undefined;
      }
      const prototype = Object.getPrototypeOf(value) as unknown;
      if (prototype !== Object.prototype && prototype !== null) {
        return `${where(at)} is a ${(value as object).constructor?.name ?? 'non-plain object'}, not plain data`;
      }
      for (const key of Object.keys(value)) {
        const found = describeFirstNonPlain((value as Record<string, unknown>)[key], at ? `${at}.${key}` : key);
        if (found) return found;
      }
      return undefined;
    }
    default:
      return `${where(at)} is a ${typeof value}, not plain data`;
  }
}

function where(at: string): string {
  return at ? `the document's ${at}` : 'the document';
}
