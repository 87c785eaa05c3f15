// Helpers for the CLI tests: an fnbatch local host running the real app in this process, and the
// CLI run in-process or as the real bin/fnbatch.js child process.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHost, type RunningHost } from '../../local-host/host.js';
import { bufferIO } from '../../cli/io.js';
import { runClientCommand } from '../../cli/main.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const fnbatchBin = path.join(repoRoot, 'bin', 'fnbatch.js');
export const example = (name: string) => path.join(repoRoot, 'examples', name);

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

/**
 * The fnbatch app (compiled: `npm run build` first) on a local host; state in memory unless a data
 * folder is given (then the pool's node work folders go there too, and are removed with it).
 */
export function startFnbatchHost(dataDir?: string): Promise<RunningHost> {
  return startHost({ appDir: repoRoot, port: 0, ...(dataDir ? { dataDir } : { inMemory: true }), log: quiet, functionLogs: false });
}

export function cliEnv(host: RunningHost): NodeJS.ProcessEnv {
  return { FNBATCH_ENDPOINT: host.baseUrl, FNBATCH_KEY: host.keys.functionKey };
}

/** Runs a client command in this process against the host. */
export async function cli(host: RunningHost, command: string, ...argv: string[]) {
  const io = bufferIO(cliEnv(host), repoRoot);
  const code = await runClientCommand(command, argv, io);
  return { code, out: io.out(), err: io.err() };
}

export interface ChildResult {
  code: number | null;
  out: string;
  err: string;
}

/** Runs `node bin/fnbatch.js ...` as a user would; stdout is a pipe, so not a TTY. */
export function runFnbatch(argv: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<ChildResult> {
  return spawnFnbatch(argv, env, timeoutMs).done;
}

/** Like runFnbatch, with the output readable while the command runs. */
export function spawnFnbatch(argv: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): { out(): string; done: Promise<ChildResult> } {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  // The in-process host set these for the app; the CLI must not depend on them.
  for (const name of ['WEBSITE_HOSTNAME', 'FUNCTIONS_LOCAL_BASE_URL', 'FUNCTIONS_LOCAL_FUNCTION_KEY']) delete childEnv[name];
  const child = spawn(process.execPath, [fnbatchBin, ...argv], { cwd: repoRoot, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const done = new Promise<ChildResult>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
  return { out: () => out, done };
}

export async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
