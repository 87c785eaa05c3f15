// A long exploration shows how far it has come; a short one prints nothing extra.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { progressLine } from '../../sim/progress-line.js';

function fakeStream(isTTY: boolean) {
  const written: string[] = [];
  return { written, stream: { isTTY, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream };
}

afterEach(() => vi.useRealTimers());

describe('progressLine', () => {
  it('rewrites one line on a terminal and clears it at the end', () => {
    vi.useFakeTimers();
    const { written, stream } = fakeStream(true);
    const line = progressLine('dag-faults', stream);
    line.update(1, 100, 0.1);
    expect(written).toEqual([]);
    vi.advanceTimersByTime(300);
    line.update(40, 100, 2);
    expect(written).toEqual(['\rdag-faults: 40/100 iterations, 20.0 it/s\x1b[K']);
    line.end();
    expect(written.at(-1)).toBe('\r\x1b[K');
  });

  it('writes a plain line every half minute into a log', () => {
    vi.useFakeTimers();
    const { written, stream } = fakeStream(false);
    const line = progressLine('cancel-race', stream);
    vi.advanceTimersByTime(10_000);
    line.update(500, 10_000, 10);
    expect(written).toEqual([]);
    vi.advanceTimersByTime(25_000);
    line.update(1_700, 10_000, 35);
    line.end();
    expect(written).toEqual(['cancel-race: 1700/10000 iterations, 48.6 it/s\n']);
  });
});
