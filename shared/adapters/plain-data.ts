// A deep copy of a document as JSON would carry it (what Cosmos DB stores): objects and arrays are
// copied, an object property that is undefined is left out and an array's becomes null, as
// JSON.stringify does. Anything JSON cannot carry faithfully (a Date, a Map, a class instance, a
// function, a symbol, a bigint, a number that is not finite) is refused with a TypeError naming
// where it is, so a local store can never hold what Cosmos DB would hand back changed.
// A tenth of the cost of structuredClone for a task document, which the stores copy several times
// per request. Not shared/plain-copy.ts's plainCopy, which copies as structuredClone does (Dates,
// undefined and all) for the Durable backend's and the simulator's own state: a store must refuse
// what Cosmos DB would hand back changed.

export function clonePlainData<T>(value: T): T {
  return copy(value, '') as T;
}

function copy(value: unknown, at: string): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${where(at)} is ${value}, which JSON cannot hold`);
      return value;
    case 'object': {
      if (value === null) return null;
      if (Array.isArray(value)) {
        const copied = new Array<unknown>(value.length);
        for (let i = 0; i < value.length; i++) copied[i] = value[i] === undefined ? null : copy(value[i], `${at}[${i}]`);
        return copied;
      }
      const prototype = Object.getPrototypeOf(value) as unknown;
      if (prototype !== Object.prototype && prototype !== null) {
        throw new TypeError(`${where(at)} is a ${(value as object).constructor?.name ?? 'non-plain object'}, not plain data`);
      }
      const copied: Record<string, unknown> = {};
      for (const key of Object.keys(value)) {
        const field = (value as Record<string, unknown>)[key];
        if (field !== undefined) copied[key] = copy(field, at ? `${at}.${key}` : key);
      }
      return copied;
    }
    default:
      throw new TypeError(`${where(at)} is a ${typeof value}, not plain data`);
  }
}

function where(at: string): string {
  return at ? `the document's ${at}` : 'the document';
}
