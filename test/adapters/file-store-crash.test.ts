// Kills a real process with SIGKILL while it writes to a FileDocumentStore, then checks that every
// write it acknowledged is there. The child runs the adapter's own source, transpiled here with
// the project's TypeScript, because plain Node 20 cannot run .ts files.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileDocumentStore } from '../../shared/adapters/file-document-store.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
let workDir: string;
let childScript: string;

/** Transpiles a module and everything it imports relatively into outDir, keeping the layout. */
function transpileClosure(entry: string, outDir: string): void {
  const pending = [entry];
  const done = new Set<string>();
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (done.has(file)) continue;
    done.add(file);
    const source = readFileSync(file, 'utf8');
    for (const imported of ts.preProcessFile(source, true, true).importedFiles) {
      if (imported.fileName.startsWith('.')) pending.push(resolve(dirname(file), imported.fileName.replace(/\.js$/, '.ts')));
    }
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: file,
    });
    const target = join(outDir, relative(repoRoot, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  }
}

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'fnbatch-crash-'));
  const outDir = join(workDir, 'build');
  transpileClosure(join(repoRoot, 'shared/adapters/file-document-store.ts'), outDir);
  writeFileSync(join(outDir, 'package.json'), JSON.stringify({ type: 'module' }));
  const storeModule = pathToFileURL(join(outDir, 'shared/adapters/file-document-store.js')).href;
  childScript = join(outDir, 'writer.js');
  // Writes items d000000, d000001, ... forever, printing each index once create() has resolved.
  // (The store's compaction worker comes along: the store imports its types.)
  writeFileSync(
    childScript,
    `import { FileDocumentStore } from ${JSON.stringify(storeModule)};
const store = await FileDocumentStore.open(process.argv[2], { compactAfterRecords: 40 });
const docs = await store.container('docs', '/jobId');
let i = (await docs.queryAll()).items.length;
for (;;) {
  await docs.create({ id: 'd' + String(i).padStart(6, '0'), jobId: 'j' + (i % 4), n: i });
  process.stdout.write('acked ' + i + '\\n');
  i += 1;
  // As a server does between requests: background compactions finish, so kills land in every
  // part of their cycle.
  await new Promise((resolve) => setImmediate(resolve));
}
`,
  );
});

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** Runs the writer until it has acknowledged more than `acks` writes, then SIGKILLs it. */
function writeUntilKilled(storeDir: string, acks: number): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [childScript, storeDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let lastAck = -1;
    let acked = 0;
    let buffered = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        lastAck = Number(line.slice('acked '.length));
        acked += 1;
      }
      if (acked > acks) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolvePromise(lastAck);
      else reject(new Error(`writer exited (${code}) before it was killed: ${stderr}`));
    });
  });
}

describe('FileDocumentStore under kill -9', () => {
  it('keeps every acknowledged write through repeated crashes, compactions included', async () => {
    const storeDir = join(workDir, 'store');
    let lastAck = -1;
    for (const acks of [60, 150, 90]) {
      lastAck = await writeUntilKilled(storeDir, acks);
      const store = await FileDocumentStore.open(storeDir);
      const docs = await store.container<{ id: string; jobId: string; n: number }>('docs', '/jobId');
      const ids = (await docs.queryAll()).items.map((s) => s.item.id);
      // Every acknowledged write, in an unbroken run from the first (a write in flight at the
      // kill may or may not have landed, but nothing may be missing before it).
      expect(ids.length).toBeGreaterThan(lastAck);
      expect(ids).toEqual(ids.map((_, i) => `d${String(i).padStart(6, '0')}`));
      store.close();
    }
    expect(lastAck).toBeGreaterThan(250);
  });
});
