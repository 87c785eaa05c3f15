// The patches the host applies to Azurite's modules (local-host/services/azurite-patches.ts),
// exercised on Azurite's own classes in this thread.
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { azuriteModule } from '../../local-host/services/azurite-patches.js';

const require = createRequire(import.meta.url);

interface ExtentChunk {
  id: string;
  offset: number;
  count: number;
}
interface ExtentStore {
  init(): Promise<void>;
  close(): Promise<void>;
  appendExtent(data: Buffer, contextId?: string): Promise<ExtentChunk>;
  readExtent(chunk: ExtentChunk): Promise<NodeJS.ReadableStream>;
}
type StoreClass = new (metadata: unknown, locations: unknown[], logger: unknown) => ExtentStore;
type MetadataClass = new (dbPath: string, inMemory: boolean) => { init(): Promise<void>; close(): Promise<void> };

const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, verbose: () => {} };

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

let scratch: string | undefined;
afterEach(() => {
  vi.restoreAllMocks();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

describe("Azurite's extent store, patched", () => {
  it('writes appended messages to the extent files without a flush per append', async () => {
    scratch = mkdtempSync(path.join(tmpdir(), 'fnbatch-azurite-extents-'));
    const Store = azuriteModule<{ default: StoreClass }>('common/persistence/FSExtentStore').default;
    const Metadata = azuriteModule<{ default: MetadataClass }>('common/persistence/LokiExtentMetadataStore').default;
    const metadata = new Metadata(path.join(scratch, 'extents.json'), true);
    await metadata.init();
    const folder = path.join(scratch, 'extents');
    const store = new Store(metadata, [{ locationId: 'Default', locationPath: folder, maxConcurrency: 2 }], silent);
    await store.init();
    // Azurite's compiled modules call fs.fdatasync through the module object, so a spy on it sees every call.
    const fs = require('node:fs') as typeof import('node:fs');
    const flushes = vi.spyOn(fs, 'fdatasync');
    try {
      const chunks = await Promise.all(['first message', 'second message', 'third message'].map((m) => store.appendExtent(Buffer.from(m))));
      expect(flushes).not.toHaveBeenCalled();
      // Every byte is in the files once the appends have ended, without a flush.
      const onDisk = readdirSync(folder).map((f) => readFileSync(path.join(folder, f), 'utf8')).join('|');
      for (const m of ['first message', 'second message', 'third message']) expect(onDisk).toContain(m);
      expect(await Promise.all(chunks.map(async (c) => text(await store.readExtent(c))))).toEqual(['first message', 'second message', 'third message']);
    } finally {
      await store.close();
      await metadata.close();
    }
  });
});
