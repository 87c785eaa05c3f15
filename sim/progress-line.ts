// Shows how far a long exploration has come on stderr: one line rewritten in place on a terminal,
// a line every half minute otherwise (CI logs), nothing for runs that end within a few seconds.
export interface ProgressLine {
  update(done: number, total: number, seconds: number): void;
  /** Clears the line before the scenario's result is printed. */
  end(): void;
}

const TERMINAL_EVERY_MS = 250;
const LOG_EVERY_MS = 30_000;

export function progressLine(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressLine {
  const terminal = stream.isTTY === true;
  const every = terminal ? TERMINAL_EVERY_MS : LOG_EVERY_MS;
  let last = Date.now();
  let shown = false;
  return {
    update(done, total, seconds) {
      const now = Date.now();
      if (now - last < every || done >= total) return;
      last = now;
      const text = `${label}: ${done}/${total} iterations, ${(done / Math.max(seconds, 1e-9)).toFixed(1)} it/s`;
      stream.write(terminal ? `\r${text}\x1b[K` : `${text}\n`);
      shown = true;
    },
    end() {
      if (terminal && shown) stream.write('\r\x1b[K');
    },
  };
}
