// What a CLI command may touch of its process, so tests can run commands in-process and read what
// they printed.

export interface OutputStream {
  write(chunk: string | Uint8Array): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CliIO {
  stdout: OutputStream;
  stderr: OutputStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

/** An IO whose output is kept in strings (tests, and the demo's quiet steps). */
export function bufferIO(env: NodeJS.ProcessEnv = {}, cwd = process.cwd()): CliIO & { out(): string; err(): string } {
  let out = '';
  let err = '';
  const text = (chunk: string | Uint8Array) => (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
  return {
    stdout: { write: (c) => (out += text(c)), isTTY: false },
    stderr: { write: (c) => (err += text(c)), isTTY: false },
    env,
    cwd,
    out: () => out,
    err: () => err,
  };
}
