import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileDocumentStore } from '../../shared/adapters/file-document-store.js';
import type { Stored } from '../../shared/ports/document-store.js';
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

/** The snapshot's lines, parsed: a header, then one per document. */
function snapshotLines(directory: string): unknown[] {
  return readFileSync(join(directory, 'snapshot.json'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as unknown);
}

function journalLines(directory: string): number {
  return readFileSync(join(directory, 'journal.jsonl'), 'utf8').split('\n').filter(Boolean).length;
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
    // Writes made while a compaction ran wait in the fresh journal for the next one.
    await store.whenCompacted();
    await docs.upsert({ id: 'd4', jobId: 'j0', n: 4 });
    await store.whenCompacted();

    expect(readdirSync(directory)).toContain('snapshot.json');
    expect(journalLines(directory)).toBeLessThan(10);

    const reopened = await FileDocumentStore.open(directory);
    const again = await reopened.container<Doc>('docs', '/jobId');
    expect(await again.read('counter', 'j1')).toEqual(current);
    expect((await again.queryAll()).items.map((s) => s.item.id)).toEqual(['counter', 'd0', 'd1', 'd2', 'd3', 'd4']);
    store.close();
    reopened.close();
  });

  it('compacts on a worker thread: writes go on, acknowledged, while it runs', async () => {
    const directory = freshDirectory();
    const store = await FileDocumentStore.open(directory, { compactAfterRecords: 10 });
    const docs = await store.container<Doc>('docs', '/jobId');
    for (let i = 0; i < 9; i++) await docs.create({ id: `a${i}`, jobId: 'j1', n: i });
    // The tenth line (the container's, then nine creates) sealed the journal and started the worker. Its result can only arrive as an
    // event, and nothing here waits for one, so these writes happen while it runs.
    expect(readdirSync(directory)).toContain('journal.sealed.jsonl');
    const during: Stored<Doc>[] = [];
    for (let i = 0; i < 5; i++) during.push(await docs.create({ id: `b${i}`, jobId: 'j2', n: i }));
    expect(readdirSync(directory)).toContain('journal.sealed.jsonl');
    expect(journalLines(directory)).toBe(5);

    await store.whenCompacted();
    expect(readdirSync(directory).sort()).toEqual(['journal.jsonl', 'owner.pid', 'snapshot.json']);
    expect(journalLines(directory)).toBe(5);
    const [header, ...documents] = snapshotLines(directory);
    expect(header).toEqual({ format: 2, seq: 10, version: 9, containers: { docs: '/jobId' } });
    expect(documents).toHaveLength(9);

    const reopened = await FileDocumentStore.open(directory);
    const again = await reopened.container<Doc>('docs', '/jobId');
    expect((await again.query('j2')).items).toEqual(during);
    expect((await again.query('j1')).items.map((s) => s.item.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    store.close();
    reopened.close();
  });

  it('finishes on open a compaction a crash cut short, and drops its half-written snapshot', async () => {
    const directory = freshDirectory();
    const first = await FileDocumentStore.open(directory);
    const docs = await first.container<Doc>('docs', '/jobId');
    const a = await docs.create({ id: 'a', jobId: 'j1', n: 1 });
    const b = await docs.create({ id: 'b', jobId: 'j1', n: 2 });
    first.close();
    // What a crash during a background compaction leaves: the sealed journal, a fresh journal
    // with later writes, and the worker's unfinished snapshot.
    renameSync(join(directory, 'journal.jsonl'), join(directory, 'journal.sealed.jsonl'));
    const later = { seq: 4, m: { op: 'put', container: 'docs', pk: 'j1', id: 'c', etag: '"3"', item: { id: 'c', jobId: 'j1', n: 3 }, version: 3 } };
    writeFileSync(join(directory, 'journal.jsonl'), `${JSON.stringify(later)}\n`);
    writeFileSync(join(directory, 'snapshot.json.3.tmp'), '{"format":1,"seq":3,"tab');

    const second = await FileDocumentStore.open(directory);
    expect(readdirSync(directory).sort()).toEqual(['journal.jsonl', 'owner.pid', 'snapshot.json']);
    expect(journalLines(directory)).toBe(0);
    const reopened = await second.container<Doc>('docs', '/jobId');
    expect((await reopened.query('j1')).items).toEqual([a, b, { item: { id: 'c', jobId: 'j1', n: 3 }, etag: '"3"' }]);
    const c2 = await reopened.replace({ id: 'c', jobId: 'j1', n: 4 }, { ifMatch: '"3"' });
    expect(c2.etag).toBe('"4"');
    second.close();
  });

  it('keeps a sealed journal a failed compaction left, and folds it in at the next one', async () => {
    const directory = freshDirectory();
    const store = await FileDocumentStore.open(directory, { compactAfterRecords: 4 });
    const docs = await store.container<Doc>('docs', '/jobId');
    for (let i = 0; i < 2; i++) await docs.create({ id: `a${i}`, jobId: 'j1', n: i });
    // The container's line and three creates' are four: the third create seals seq 4, and the
    // worker fails to write snapshot.json.4.tmp, since a folder is in its way.
    mkdirSync(join(directory, 'snapshot.json.4.tmp'));
    await docs.create({ id: 'a2', jobId: 'j1', n: 2 });
    await store.whenCompacted();
    expect(readdirSync(directory).sort()).toEqual(['journal.jsonl', 'journal.sealed.jsonl', 'owner.pid']);

    // Five lines in the fresh journal, more than the four items, start the next compaction, which
    // finds the sealed journal still there and folds everything in at once, on this thread.
    let current = await docs.create({ id: 'counter', jobId: 'j2', n: 0 });
    for (let n = 1; n <= 4; n++) current = await docs.replace({ id: 'counter', jobId: 'j2', n }, { ifMatch: current.etag });
    expect(readdirSync(directory).sort()).toEqual(['journal.jsonl', 'owner.pid', 'snapshot.json']);
    expect(journalLines(directory)).toBe(0);
    store.close();
    const reopened = await FileDocumentStore.open(directory);
    const last = await reopened.container<Doc>('docs', '/jobId');
    expect((await last.query('j1')).items.map((s) => s.item.n)).toEqual([0, 1, 2]);
    expect(await last.read('counter', 'j2')).toEqual(current);
    reopened.close();
  });

  it('answers a write as done when the compaction it starts cannot seal the journal, and compacts at a later write', async () => {
    const directory = freshDirectory();
    const store = await FileDocumentStore.open(directory, { compactAfterRecords: 4 });
    const docs = await store.container<Doc>('docs', '/jobId');
    // A folder where the fresh journal would be made: sealing fails before it changes anything.
    mkdirSync(join(directory, 'journal.next.jsonl'));
    const written: Stored<Doc>[] = [];
    for (let i = 0; i < 3; i++) written.push(await docs.create({ id: `a${i}`, jobId: 'j1', n: i }));
    expect(readdirSync(directory).sort()).toEqual(['journal.jsonl', 'journal.next.jsonl', 'owner.pid']);
    expect(journalLines(directory)).toBe(4);

    rmSync(join(directory, 'journal.next.jsonl'), { recursive: true });
    written.push(await docs.create({ id: 'a3', jobId: 'j1', n: 3 }));
    await store.whenCompacted();
    expect(readdirSync(directory).sort()).toEqual(['journal.jsonl', 'owner.pid', 'snapshot.json']);
    const reopened = await FileDocumentStore.open(directory);
    expect((await (await reopened.container<Doc>('docs', '/jobId')).query('j1')).items).toEqual(written);
    store.close();
    reopened.close();
  });

  it('reads a snapshot of the first format (one JSON document), and writes the next a line per document', async () => {
    const directory = freshDirectory();
    const item = { id: 'a', jobId: 'j1', n: 1 };
    const first = { format: 1, seq: 2, table: { version: 1, containers: { docs: { partitionKeyPath: '/jobId', entries: [{ pk: 'j1', etag: '"1"', item }] } } } };
    writeFileSync(join(directory, 'snapshot.json'), JSON.stringify(first));
    const store = await FileDocumentStore.open(directory);
    const docs = await store.container<Doc>('docs', '/jobId');
    expect(await docs.read('a', 'j1')).toEqual({ item, etag: '"1"' });
    const b = await docs.create({ id: 'b', jobId: 'j2', n: 2 });
    expect(b.etag).toBe('"2"');
    store.compact();
    expect(snapshotLines(directory)).toEqual([
      { format: 2, seq: 3, version: 2, containers: { docs: '/jobId' } },
      { c: 'docs', pk: 'j1', etag: '"1"', item },
      { c: 'docs', pk: 'j2', etag: '"2"', item: b.item },
    ]);
    const reopened = await FileDocumentStore.open(directory);
    const again = await reopened.container<Doc>('docs', '/jobId');
    expect((await again.queryAll()).items).toEqual([{ item, etag: '"1"' }, b]);
    store.close();
    reopened.close();
  });

  it('refuses a snapshot with a damaged line', async () => {
    const directory = freshDirectory();
    const store = await FileDocumentStore.open(directory);
    await (await store.container<Doc>('docs', '/jobId')).create({ id: 'a', jobId: 'j1', n: 1 });
    store.compact();
    store.close();
    appendFileSync(join(directory, 'snapshot.json'), '{"c":"docs","pk":"j1","etag":"\\"9\\"","item":{"id":"b"');
    await expect(FileDocumentStore.open(directory)).rejects.toThrow(/snapshot .* is corrupt/);
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
