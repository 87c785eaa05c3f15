// A deep copy of JSON-like data (plain objects, arrays, primitives), several times faster than
// structuredClone on small documents: the simulator copies every document it stores and every one
// it hands out, and the Durable backend copies the orchestration state it plans and commits.
// Anything that is not plain data takes structuredClone's path, so the result (and the refusal of
// functions) is the same as its.

export function plainCopy<T>(value: T): T {
  return copy(value) as T;
}

function copy(value: unknown): unknown {
  if (!needsCopy(value)) return value;
  if (typeof value !== 'object') return structuredClone(value);
  // A spread or slice copies the top level in one go (V8 clones the object's shape); only what is
  // not a primitive is visited again.
  if (Array.isArray(value)) {
    const out: unknown[] = value.slice();
    for (let i = 0; i < out.length; i++) if (needsCopy(out[i])) out[i] = copy(out[i]);
    return out;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const out: Record<string, unknown> = { ...value };
  for (const key in out) if (needsCopy(out[key])) out[key] = copy(out[key]);
  return out;
}

/** Objects, arrays, and what structuredClone refuses (functions, symbols): not a plain value. */
function needsCopy(value: unknown): boolean {
  return (typeof value === 'object' && value !== null) || typeof value === 'function' || typeof value === 'symbol';
}
