// HTTP Range requests for task output files (tailing a running task's stdout).

export class RangeNotSatisfiable extends Error {}

/** Parses `bytes=a-b`, `bytes=a-` or `bytes=-n` against a size; one range only. */
export function parseRange(header: string, size: number): { start: number; end: number } | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined; // unsupported forms: ignore, as servers may
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) throw new RangeNotSatisfiable();
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) throw new RangeNotSatisfiable();
  return { start, end };
}
