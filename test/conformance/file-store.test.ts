import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileDocumentStore } from '../../shared/adapters/file-document-store.js';
import { documentStoreConformance } from './document-store.suite.js';

interface Doc {
  id: string;
  jobId: string;
  n: number;
}

const directories: string[] = [];
function freshDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'fnbatch-file-store-'));
  directories.push(directory);
  return directory;
}

afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

documentStoreConformance('file', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'fnbatch-file-store-'));
  const store = await FileDocumentStore.open(directory);
  return {
    store,
    cleanup: async () => {
      store.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
});

// A small compaction threshold runs the same suite through many snapshot/truncate cycles.
documentStoreConformance('file, compacting every 3 writes', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'fnbatch-file-store-'));
  const store = await FileDocumentStore.open(directory, { compactAfterRecords: 3 });
  return {
    store,
    cleanup: async () => {
      store.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
});

describe('FileDocumentStore durability', () => {
  it('shows every acknowledged write to a second instance opened without closing the first (a crash)', async () => {
    const directory = freshDirectory();
    const first = await FileDocumentStore.open(directory);
    const docs = await first.container<Doc>('docs', '/jobId');
    const a = await docs.create({ id: 'a', jobId: 'j1', n: 1 });
    const b = await docs.create({ id: 'b', jobId: 'j1', n: 1 });
    const b2 = await docs.replace({ id: 'b', jobId: 'j1', n: 2 }, { ifMatch: b.etag });
    await docs.upsert({ id: 'c', jobId: 'j2', n: 3 });
    await docs.delete('c', 'j2');
    // No close(): the first instance just stops, as if killed.

    const second = await FileDocumentStore.open(directory);
    const reopened = await second.container<Doc>('docs', '/jobId');
    expect(await reopened.read('a', 'j1')).toEqual(a);
    expect(await reopened.read('b', 'j1')).toEqual(b2);
    expect(await reopened.read('c', 'j2')).toBeUndefined();
    // ETags survive the restart, so guarded writes still guard.
    await expect(reopened.replace({ id: 'b', jobId: 'j1', n: 9 }, { ifMatch: b.etag })).rejects.toMatchObject({
      code: 'PreconditionFailed',
    });
    const b3 = await reopened.replace({ id: 'b', jobId: 'j1', n: 3 }, { ifMatch: b2.etag });
    expect(b3.etag).not.toBe(b2.etag);
    expect(b3.etag).not.toBe(b.etag);
    second.close();
    first.close();
  });

  it('ignores a torn last line, and later writes are not glued onto it', async () => {
    const directory = freshDirectory();
    const first = await FileDocumentStore.open(directory);
    const docs = await first.container<Doc>('docs', '/jobId');
    const a = await docs.create({ id: 'a', jobId: 'j1', n: 1 });
    // What a crash in the middle of writing the next line leaves behind.
    appendFileSync(join(directory, 'journal.jsonl'), '{"seq":3,"m":{"op":"put","container":"docs","pk":"j1","id":"b","et');

    const second = await FileDocumentStore.open(directory);
    const afterCrash = await second.container<Doc>('docs', '/jobId');
    expect(await afterCrash.read('a', 'j1')).toEqual(a);
    expect(await afterCrash.read('b', 'j1')).toBeUndefined();
    const c = await afterCrash.create({ id: 'c', jobId: 'j1', n: 3 });

    const third = await FileDocumentStore.open(directory);
    const later = await third.container<Doc>('docs', '/jobId');
    expect((await later.query('j1')).items).toEqual([a, c]);
    for (const line of readFileSync(join(directory, 'journal.jsonl'), 'utf8').trimEnd().split('\n')) {
      expect(() => JSON.parse(line)).not.toThrow();
    }
    for (const store of [first, second, third]) store.close();
  });

  it('refuses a journal that is corrupt before its last line instead of silently losing writes', async () => {
    const directory = freshDirectory();
    const first = await FileDocumentStore.open(directory);
    const docs = await first.container<Doc>('docs', '/jobId');
    await docs.create({ id: 'a', jobId: 'j1', n: 1 });
    await docs.create({ id: 'b', jobId: 'j1', n: 2 });
    first.close();
    const journal = join(directory, 'journal.jsonl');
    const lines = readFileSync(journal, 'utf8').split('\n');
    lines[1] = 'garbage';
    writeFileSync(journal, lines.join('\n'));
    await expect(FileDocumentStore.open(directory)).rejects.toThrow(/corrupt/);
  });

  it('compacts into a snapshot, keeps the journal short, and reopens to the same state', async () => {
    const directory = freshDirectory();
    const store = await FileDocumentStore.open(directory, { compactAfterRecords: 10 });
    const docs = await store.container<Doc>('docs', '/jobId');
    let current = await docs.create({ id: 'counter', jobId: 'j1', n: 0 });
    for (let n = 1; n <= 45; n++) current = await docs.replace({ id: 'counter', jobId: 'j1', n }, { ifMatch: current.etag });
    for (let i = 0; i < 5; i++) await docs.create({ id: `d${i}`, jobId: `j${i % 2}`, n: i });

    expect(readdirSync(directory)).toContain('snapshot.json');
    const journalLines = readFileSync(join(directory, 'journal.jsonl'), 'utf8').split('\n').filter(Boolean).length;
    expect(journalLines).toBeLessThan(10);

    const reopened = await FileDocumentStore.open(directory);
    const again = await reopened.container<Doc>('docs', '/jobId');
    expect(await again.read('counter', 'j1')).toEqual(current);
    expect((await again.queryAll()).items.map((s) => s.item.id)).toEqual(['counter', 'd0', 'd1', 'd2', 'd3', 'd4']);
    store.close();
    reopened.close();
  });

  it('skips journal lines the snapshot already holds (a crash between snapshot and truncate)', async () => {
    const directory = freshDirectory();
    const store = await FileDocumentStore.open(directory);
    const docs = await store.container<Doc>('docs', '/jobId');
    const a = await docs.create({ id: 'a', jobId: 'j1', n: 1 });
    await docs.delete('a', 'j1');
    const a2 = await docs.create({ id: 'a', jobId: 'j1', n: 2 });
    const journal = join(directory, 'journal.jsonl');
    const beforeCompaction = readFileSync(journal);
    store.compact();
    expect(statSync(journal).size).toBe(0);
    // Put the already-snapshotted lines back, as if the truncate never happened.
    writeFileSync(journal, beforeCompaction);

    const reopened = await FileDocumentStore.open(directory);
    const again = await reopened.container<Doc>('docs', '/jobId');
    expect(await again.read('a', 'j1')).toEqual(a2);
    expect(a2.etag).not.toBe(a.etag);
    const a3 = await again.replace({ id: 'a', jobId: 'j1', n: 3 }, { ifMatch: a2.etag });
    expect([a.etag, a2.etag]).not.toContain(a3.etag);
    store.close();
    reopened.close();
  });

  it('refuses a directory another live process has open', async () => {
    const directory = freshDirectory();
    // pid 1 is always alive on Linux and macOS.
    writeFileSync(join(directory, 'owner.pid'), '1');
    await expect(FileDocumentStore.open(directory)).rejects.toThrow(/another process/);
  });

  it('rejects writes after close', async () => {
    const directory = freshDirectory();
    const store = await FileDocumentStore.open(directory);
    const docs = await store.container<Doc>('docs', '/jobId');
    store.close();
    await expect(docs.create({ id: 'a', jobId: 'j1', n: 1 })).rejects.toThrow(/closed/);
  });
});
