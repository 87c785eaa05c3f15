import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startAzurite } from '../../local-host/services/azurite.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// Limits far beyond what any of this takes, so a slow or busy machine never fails these tests.
const PATIENCE_MS = 60_000;

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'fnbatch-azurite-worker-'));
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** Sleeps without ever yielding to the event loop, as a busy main thread would. */
function blockUntil(done: () => boolean, timeoutMs: number): void {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) Atomics.wait(sleeper, 0, 0, 20);
}

describe('startAzurite runs Azurite on its own thread', () => {
  it('answers a queue request while the main thread is blocked', async () => {
    const azurite = await startAzurite({ inMemory: true });
    const marker = path.join(scratch, 'answered');
    // Any answer (it is unauthenticated, so a 403) shows Azurite handled the request.
    const client = `
      require('node:http')
        .get(process.argv[1], (res) => { res.resume(); require('node:fs').writeFileSync(process.argv[2], String(res.statusCode)); process.exit(0); })
        .on('error', (err) => { console.error(err); process.exit(1); });`;
    const child = spawn(process.execPath, ['-e', client, `${azurite.queueEndpoint}?comp=list`, marker], { stdio: 'ignore' });
    try {
      blockUntil(() => existsSync(marker), PATIENCE_MS);
      expect(existsSync(marker)).toBe(true);
      expect(Number(readFileSync(marker, 'utf8'))).toBeGreaterThanOrEqual(200);
    } finally {
      child.kill();
      await azurite.stop();
    }
  });

  it('rejects with a clear error when the worker cannot start it', async () => {
    const file = path.join(scratch, 'a-file');
    writeFileSync(file, '');
    await expect(startAzurite({ dataDir: path.join(file, 'azurite') })).rejects.toThrow(/^Azurite did not start: ENOTDIR/);
  });

  it('from the compiled module, lets the process exit once stopped (twice)', async () => {
    const compiled = pathToFileURL(path.join(repoRoot, 'dist', 'local-host', 'services', 'azurite.js')).href;
    const script = `
      const { startAzurite } = await import(${JSON.stringify(compiled)});
      const azurite = await startAzurite({ inMemory: true });
      await azurite.stop();
      await azurite.stop();`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), PATIENCE_MS);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
    clearTimeout(timer);
    expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' });
  });
});
