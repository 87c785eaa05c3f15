import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const fnbatchBin = path.join(repoRoot, 'bin', 'fnbatch.js');

export interface HostProcess {
  child: ChildProcess;
  baseUrl: string;
  functionKey: string;
  masterKey: string;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `fnbatch host` as its own process (as a user would) and waits for its banner. */
export function startHostProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<HostProcess> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.WEBSITE_HOSTNAME;
  const child = spawn(process.execPath, [fnbatchBin, 'host', '--port', '0', ...args], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`host did not start:\n${out}`)), 60_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const url = /listening on (http:\/\/[\d.]+:\d+)/.exec(out)?.[1];
      const keysFile = /keys: (\S+)/.exec(out)?.[1];
      if (url && keysFile && /function key: /.test(out)) {
        clearTimeout(timer);
        // The banner names the keys file; the keys themselves never appear in the output.
        const stored = JSON.parse(readFileSync(keysFile, 'utf8')) as { functionKey: string; masterKey: string };
        const functionKey = childEnv.FNBATCH_KEY || stored.functionKey;
        const masterKey = stored.masterKey;
        resolve({
          child,
          baseUrl: url,
          functionKey,
          masterKey,
          output: () => out,
          stop: async (signal = 'SIGTERM') => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`host exited with ${code} before starting:\n${out}`));
    });
  });
}

/** Runs `fnbatch host` expecting it to fail at start-up; resolves with its exit code and output. */
export function runHostToFailure(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [fnbatchBin, 'host', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output: out });
    });
  });
}

export async function poll<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
