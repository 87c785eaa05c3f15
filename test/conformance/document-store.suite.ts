// One conformance suite for every DocumentStore adapter: each adapter's test file calls
// documentStoreConformance with a factory, and must pass all of it unchanged.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Container, DocumentStore, QueryOptions, Stored } from '../../shared/ports/document-store.js';
import { StoreError, type StoreErrorCode } from '../../shared/ports/errors.js';

export interface DocumentStoreFixture {
  store: DocumentStore;
  cleanup(): Promise<void>;
}

interface TaskDoc {
  id: string;
  jobId: string;
  status: string;
  n: number;
  flag?: boolean;
  spec?: { kind: string };
}

function task(jobId: string, id: string, extra: Partial<TaskDoc> = {}): TaskDoc {
  return { id, jobId, status: 'active', n: 0, ...extra };
}

async function expectStoreError(promise: Promise<unknown>, code: StoreErrorCode): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected StoreError ${code}`).toBeInstanceOf(StoreError);
  expect((error as StoreError).code).toBe(code);
}

/** Follows continuations to the end, recording page sizes. */
async function readAllPages(
  fetchPage: (options: QueryOptions) => Promise<{ items: Stored<TaskDoc>[]; continuation?: string }>,
  options: QueryOptions,
): Promise<{ items: TaskDoc[]; pageSizes: number[] }> {
  const items: TaskDoc[] = [];
  const pageSizes: number[] = [];
  let continuation: string | undefined;
  do {
    const page = await fetchPage({ ...options, ...(continuation === undefined ? {} : { continuation }) });
    items.push(...page.items.map((s) => s.item));
    pageSizes.push(page.items.length);
    continuation = page.continuation;
    if (pageSizes.length > 1000) throw new Error('paging does not terminate');
  } while (continuation !== undefined);
  return { items, pageSizes };
}

const pad = (i: number) => String(i).padStart(3, '0');

export function documentStoreConformance(name: string, factory: () => Promise<DocumentStoreFixture>): void {
  describe(`DocumentStore conformance: ${name}`, () => {
    let fixture: DocumentStoreFixture;
    let tasks: Container<TaskDoc>;

    beforeEach(async () => {
      fixture = await factory();
      tasks = await fixture.store.container<TaskDoc>('tasks', '/jobId');
    });

    afterEach(async () => {
      await fixture?.cleanup();
    });

    describe('containers', () => {
      it('opening a container again gives the same data', async () => {
        await tasks.create(task('job-1', 't1'));
        const again = await fixture.store.container<TaskDoc>('tasks', '/jobId');
        expect((await again.read('t1', 'job-1'))?.item).toEqual(task('job-1', 't1'));
        expect(again.partitionKeyPath).toBe('/jobId');
      });

      it('refuses to reopen a container with another partition key path', async () => {
        await expect(fixture.store.container<TaskDoc>('tasks', '/status')).rejects.toThrow();
      });

      it('keeps containers apart', async () => {
        const jobs = await fixture.store.container<TaskDoc>('jobs', '/jobId');
        await tasks.create(task('job-1', 'same'));
        expect(await jobs.read('same', 'job-1')).toBeUndefined();
      });

      it('takes the partition key from a nested path', async () => {
        interface Nested {
          id: string;
          owner: { pool: string };
        }
        const nested = await fixture.store.container<Nested>('nested', '/owner/pool');
        await nested.create({ id: 'n1', owner: { pool: 'p1' } });
        expect((await nested.read('n1', 'p1'))?.item).toEqual({ id: 'n1', owner: { pool: 'p1' } });
        expect(await nested.read('n1', 'p2')).toBeUndefined();
        expect((await nested.query('p1')).items.map((s) => s.item.id)).toEqual(['n1']);
      });
    });

    describe('create and read', () => {
      it('returns exactly what was written, with an etag, and read agrees', async () => {
        const written = task('job-1', 't1', { n: 3, flag: true, spec: { kind: 'shell' } });
        const created = await tasks.create(written);
        expect(created.item).toEqual(written);
        expect(typeof created.etag).toBe('string');
        expect(created.etag.length).toBeGreaterThan(0);
        const read = await tasks.read('t1', 'job-1');
        expect(read).toEqual({ item: written, etag: created.etag });
      });

      it('reads a missing item as undefined', async () => {
        expect(await tasks.read('nope', 'job-1')).toBeUndefined();
      });

      it('refuses to create an id that exists in the partition, leaving it unchanged', async () => {
        const first = await tasks.create(task('job-1', 't1', { n: 1 }));
        await expectStoreError(tasks.create(task('job-1', 't1', { n: 2 })), 'Conflict');
        expect(await tasks.read('t1', 'job-1')).toEqual(first);
      });

      it('treats the same id in two partitions as two items', async () => {
        await tasks.create(task('job-1', 't1', { n: 1 }));
        await tasks.create(task('job-2', 't1', { n: 2 }));
        expect((await tasks.read('t1', 'job-1'))?.item.n).toBe(1);
        expect((await tasks.read('t1', 'job-2'))?.item.n).toBe(2);
        await tasks.delete('t1', 'job-1');
        expect(await tasks.read('t1', 'job-1')).toBeUndefined();
        expect((await tasks.read('t1', 'job-2'))?.item.n).toBe(2);
      });

      it('hands out copies: changing a returned item changes nothing stored', async () => {
        const written = task('job-1', 't1', { spec: { kind: 'shell' } });
        const created = await tasks.create(written);
        created.item.status = 'mutated';
        written.status = 'mutated too';
        const read = await tasks.read('t1', 'job-1');
        read!.item.spec!.kind = 'changed';
        expect((await tasks.read('t1', 'job-1'))?.item).toEqual(task('job-1', 't1', { spec: { kind: 'shell' } }));
      });
    });

    describe('createMany', () => {
      it('creates every item, of any partition, answering in the order given with the ETags reads give', async () => {
        const items = [task('job-1', 'b', { n: 1 }), task('job-2', 'a', { n: 2, spec: { kind: 'x' } }), task('job-1', 'a', { n: 3 })];
        const created = await tasks.createMany(items);
        expect(created.map((s) => s.item)).toEqual(items);
        for (const [i, item] of items.entries()) {
          expect(await tasks.read(item.id, item.jobId)).toEqual({ item, etag: created[i]!.etag });
        }
        expect(new Set(created.map((s) => s.etag)).size).toBe(3);
      });

      it('answers an empty list with an empty list', async () => {
        expect(await tasks.createMany([])).toEqual([]);
        expect((await tasks.queryAll()).items).toEqual([]);
      });

      it('writes more items than one batch holds', async () => {
        const items = Array.from({ length: 250 }, (_, i) => task('job-1', `t${pad(i)}`, { n: i }));
        const created = await tasks.createMany(items);
        expect(created.map((s) => s.item.n)).toEqual(items.map((t) => t.n));
        const { items: stored } = await readAllPages((o) => tasks.query('job-1', o), { limit: 100 });
        expect(stored).toEqual(items);
      });

      it('creates all it can when an id exists, then fails Conflict, leaving the existing item unchanged', async () => {
        const existing = await tasks.create(task('job-1', 't2', { n: 99 }));
        await expectStoreError(tasks.createMany([task('job-1', 't1'), task('job-1', 't2'), task('job-1', 't3')]), 'Conflict');
        expect(await tasks.read('t2', 'job-1')).toEqual(existing);
        expect((await tasks.query('job-1')).items.map((s) => s.item.id)).toEqual(['t1', 't2', 't3']);
      });

      it('fails Conflict on an id given twice, keeping the first', async () => {
        await expectStoreError(tasks.createMany([task('job-1', 't1', { n: 1 }), task('job-1', 't1', { n: 2 }), task('job-1', 't2')]), 'Conflict');
        expect((await tasks.read('t1', 'job-1'))?.item.n).toBe(1);
        expect(await tasks.read('t2', 'job-1')).toBeDefined();
      });

      it('refuses an item without an id, creating the others', async () => {
        await expect(tasks.createMany([task('job-1', 't1'), task('job-1', ''), task('job-1', 't3')])).rejects.toThrow(TypeError);
        expect((await tasks.query('job-1')).items.map((s) => s.item.id)).toEqual(['t1', 't3']);
      });

      it('hands out copies: changing what was given or returned changes nothing stored', async () => {
        const written = task('job-1', 't1', { spec: { kind: 'shell' } });
        const [created] = await tasks.createMany([written]);
        created!.item.spec!.kind = 'mutated';
        written.spec!.kind = 'mutated too';
        expect((await tasks.read('t1', 'job-1'))?.item).toEqual(task('job-1', 't1', { spec: { kind: 'shell' } }));
      });
    });

    describe('replace', () => {
      it('replaces when the etag matches and gives a new etag', async () => {
        const created = await tasks.create(task('job-1', 't1'));
        const replaced = await tasks.replace(task('job-1', 't1', { status: 'running' }), { ifMatch: created.etag });
        expect(replaced.etag).not.toBe(created.etag);
        expect(replaced.item.status).toBe('running');
        expect(await tasks.read('t1', 'job-1')).toEqual(replaced);
      });

      it('fails PreconditionFailed on a stale etag and leaves the item unchanged', async () => {
        const created = await tasks.create(task('job-1', 't1'));
        const current = await tasks.replace(task('job-1', 't1', { status: 'running' }), { ifMatch: created.etag });
        await expectStoreError(
          tasks.replace(task('job-1', 't1', { status: 'active' }), { ifMatch: created.etag }),
          'PreconditionFailed',
        );
        expect(await tasks.read('t1', 'job-1')).toEqual(current);
      });

      it('fails NotFound when the item does not exist', async () => {
        const other = await tasks.create(task('job-1', 'other'));
        await expectStoreError(tasks.replace(task('job-1', 'missing'), { ifMatch: other.etag }), 'NotFound');
        expect(await tasks.read('missing', 'job-1')).toBeUndefined();
      });

      it('lets exactly one of several racing writers with the same etag win', async () => {
        const created = await tasks.create(task('job-1', 't1'));
        const writers = ['a', 'b', 'c', 'd', 'e'].map((status) =>
          tasks.replace(task('job-1', 't1', { status }), { ifMatch: created.etag }),
        );
        const results = await Promise.allSettled(writers);
        const winners = results.filter((r): r is PromiseFulfilledResult<Stored<TaskDoc>> => r.status === 'fulfilled');
        const losers = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(winners).toHaveLength(1);
        for (const loser of losers) {
          expect(loser.reason).toBeInstanceOf(StoreError);
          expect((loser.reason as StoreError).code).toBe('PreconditionFailed');
        }
        expect(await tasks.read('t1', 'job-1')).toEqual(winners[0]!.value);
      });

      it('never accepts an old etag after the item was deleted and created again', async () => {
        const first = await tasks.create(task('job-1', 't1'));
        await tasks.delete('t1', 'job-1');
        const second = await tasks.create(task('job-1', 't1', { n: 2 }));
        expect(second.etag).not.toBe(first.etag);
        await expectStoreError(tasks.replace(task('job-1', 't1', { n: 3 }), { ifMatch: first.etag }), 'PreconditionFailed');
        expect((await tasks.read('t1', 'job-1'))?.item.n).toBe(2);
      });
    });

    describe('upsert', () => {
      it('creates a missing item', async () => {
        const upserted = await tasks.upsert(task('job-1', 't1', { n: 1 }));
        expect(await tasks.read('t1', 'job-1')).toEqual(upserted);
      });

      it('overwrites an existing item unconditionally, with a new etag', async () => {
        const created = await tasks.create(task('job-1', 't1', { n: 1, flag: true }));
        const upserted = await tasks.upsert(task('job-1', 't1', { n: 2 }));
        expect(upserted.etag).not.toBe(created.etag);
        // Whole-item overwrite: fields absent from the new item are gone.
        expect((await tasks.read('t1', 'job-1'))?.item).toEqual(task('job-1', 't1', { n: 2 }));
        await expectStoreError(tasks.replace(task('job-1', 't1'), { ifMatch: created.etag }), 'PreconditionFailed');
      });
    });

    describe('delete', () => {
      it('deletes, after which the item reads as undefined', async () => {
        await tasks.create(task('job-1', 't1'));
        await tasks.delete('t1', 'job-1');
        expect(await tasks.read('t1', 'job-1')).toBeUndefined();
      });

      it('fails NotFound for a missing item', async () => {
        await expectStoreError(tasks.delete('nope', 'job-1'), 'NotFound');
      });

      it('honours ifMatch: a stale etag fails and keeps the item, the current one deletes', async () => {
        const created = await tasks.create(task('job-1', 't1'));
        const current = await tasks.replace(task('job-1', 't1', { n: 5 }), { ifMatch: created.etag });
        await expectStoreError(tasks.delete('t1', 'job-1', { ifMatch: created.etag }), 'PreconditionFailed');
        expect(await tasks.read('t1', 'job-1')).toEqual(current);
        await tasks.delete('t1', 'job-1', { ifMatch: current.etag });
        expect(await tasks.read('t1', 'job-1')).toBeUndefined();
      });
    });

    describe('query one partition', () => {
      beforeEach(async () => {
        await tasks.create(task('job-1', 'c', { status: 'done', n: 3, flag: true, spec: { kind: 'shell' } }));
        await tasks.create(task('job-1', 'a', { status: 'active', n: 1, flag: false, spec: { kind: 'docker' } }));
        await tasks.create(task('job-1', 'b', { status: 'done', n: 2, flag: true, spec: { kind: 'docker' } }));
        await tasks.create(task('job-2', 'a', { status: 'done', n: 1 }));
      });

      it('returns only that partition, ordered by id, with etags that match reads', async () => {
        const page = await tasks.query('job-1');
        expect(page.items.map((s) => s.item.id)).toEqual(['a', 'b', 'c']);
        expect(page.items.every((s) => s.item.jobId === 'job-1')).toBe(true);
        expect(page.continuation).toBeUndefined();
        for (const entry of page.items) expect(await tasks.read(entry.item.id, 'job-1')).toEqual(entry);
        expect((await tasks.query('job-3')).items).toEqual([]);
      });

      it('filters by string, number, boolean and nested fields, all conditions at once', async () => {
        const ids = async (where: QueryOptions['where']) =>
          (await tasks.query('job-1', { where })).items.map((s) => s.item.id);
        expect(await ids({ status: 'done' })).toEqual(['b', 'c']);
        expect(await ids({ n: 1 })).toEqual(['a']);
        expect(await ids({ flag: true })).toEqual(['b', 'c']);
        expect(await ids({ flag: false })).toEqual(['a']);
        expect(await ids({ 'spec.kind': 'docker' })).toEqual(['a', 'b']);
        expect(await ids({ status: 'done', 'spec.kind': 'docker' })).toEqual(['b']);
        expect(await ids({ status: 'missing' })).toEqual([]);
      });

      it('compares filter values by type: the string "1" does not match the number 1', async () => {
        expect((await tasks.query('job-1', { where: { n: '1' } })).items).toEqual([]);
      });

      it('rejects a filter field that is not a plain field path', async () => {
        await expect(tasks.query('job-1', { where: { 'status = status OR 1': 'x' } })).rejects.toThrow();
      });
    });

    describe('paging', () => {
      it('returns every item exactly once, in order, ending without a continuation', async () => {
        const all = Array.from({ length: 25 }, (_, i) => task('job-1', `t${pad(i)}`, { n: i % 2 }));
        for (const t of [...all].reverse()) await tasks.create(t);
        await tasks.create(task('job-2', 't999'));
        const { items, pageSizes } = await readAllPages((o) => tasks.query('job-1', o), { limit: 7 });
        expect(items.map((t) => t.id)).toEqual(all.map((t) => t.id));
        expect(pageSizes).toEqual([7, 7, 7, 4]);
      });

      it('gives no continuation when the last page is exactly full', async () => {
        for (let i = 0; i < 6; i++) await tasks.create(task('job-1', `t${pad(i)}`));
        const first = await tasks.query('job-1', { limit: 3 });
        expect(first.continuation).toBeDefined();
        const second = await tasks.query('job-1', { limit: 3, continuation: first.continuation! });
        expect(second.items.map((s) => s.item.id)).toEqual(['t003', 't004', 't005']);
        expect(second.continuation).toBeUndefined();
      });

      it('pages through a filtered result', async () => {
        for (let i = 0; i < 20; i++) await tasks.create(task('job-1', `t${pad(i)}`, { n: i % 3 }));
        const { items } = await readAllPages((o) => tasks.query('job-1', o), { limit: 4, where: { n: 0 } });
        expect(items.map((t) => t.id)).toEqual(['t000', 't003', 't006', 't009', 't012', 't015', 't018']);
      });

      it('resumes after the last item seen, whatever changed in between', async () => {
        for (let i = 0; i < 10; i++) await tasks.create(task('job-1', `t${pad(i)}`));
        const first = await tasks.query('job-1', { limit: 5 });
        expect(first.items.map((s) => s.item.id)).toEqual(['t000', 't001', 't002', 't003', 't004']);
        await tasks.delete('t000', 'job-1');
        await tasks.create(task('job-1', 't0005')); // sorts before the cursor: not in later pages
        await tasks.create(task('job-1', 't100')); // after the cursor: shows up
        const rest = await readAllPages((o) => tasks.query('job-1', o), { limit: 5, continuation: first.continuation! });
        expect(rest.items.map((t) => t.id)).toEqual(['t005', 't006', 't007', 't008', 't009', 't100']);
      });

      it('shows on a later page what was written to its items since the first', async () => {
        const stored = [];
        for (let i = 0; i < 6; i++) stored.push(await tasks.create(task('job-1', `t${pad(i)}`)));
        const first = await tasks.query('job-1', { limit: 3 });
        const updated = await tasks.replace({ ...stored[4]!.item, n: 42 }, { ifMatch: stored[4]!.etag });
        await tasks.delete('t005', 'job-1');
        const second = await tasks.query('job-1', { limit: 3, continuation: first.continuation! });
        expect(second.items).toEqual([stored[3], updated]);
        expect(second.continuation).toBeUndefined();
      });

      it('rejects a limit that is not a positive integer', async () => {
        await expect(tasks.query('job-1', { limit: 0 })).rejects.toThrow();
      });
    });

    describe('query across partitions', () => {
      it('lists every partition, ordered by id then partition key', async () => {
        await tasks.create(task('job-2', 'b'));
        await tasks.create(task('job-1', 'b'));
        await tasks.create(task('job-3', 'a'));
        await tasks.create(task('job-1', 'c'));
        const page = await tasks.queryAll();
        expect(page.items.map((s) => `${s.item.id}@${s.item.jobId}`)).toEqual(['a@job-3', 'b@job-1', 'b@job-2', 'c@job-1']);
        expect(page.continuation).toBeUndefined();
      });

      it('pages across partitions returning every item exactly once, even with shared ids', async () => {
        const expected: string[] = [];
        for (let i = 0; i < 6; i++) {
          for (const job of ['job-2', 'job-1']) await tasks.create(task(job, `t${pad(i)}`, { n: i }));
        }
        for (let i = 0; i < 6; i++) expected.push(`t${pad(i)}@job-1`, `t${pad(i)}@job-2`);
        // A page size of 3 splits pairs that share an id across two pages.
        const { items, pageSizes } = await readAllPages((o) => tasks.queryAll(o), { limit: 3 });
        expect(items.map((t) => `${t.id}@${t.jobId}`)).toEqual(expected);
        expect(pageSizes).toEqual([3, 3, 3, 3]);
      });

      it('filters across partitions', async () => {
        await tasks.create(task('job-1', 'a', { status: 'done' }));
        await tasks.create(task('job-2', 'b', { status: 'active' }));
        await tasks.create(task('job-3', 'c', { status: 'done' }));
        const { items } = await readAllPages((o) => tasks.queryAll(o), { limit: 1, where: { status: 'done' } });
        expect(items.map((t) => t.id)).toEqual(['a', 'c']);
      });

      it('lists and pages a container partitioned by its own id', async () => {
        const pools = await fixture.store.container<{ id: string; size: number }>('pools', '/id');
        for (const id of ['p3', 'p1', 'p2']) await pools.create({ id, size: Number(id.slice(1)) });
        expect((await pools.queryAll()).items.map((s) => s.item.id)).toEqual(['p1', 'p2', 'p3']);
        const first = await pools.queryAll({ limit: 2 });
        expect(first.items.map((s) => s.item.id)).toEqual(['p1', 'p2']);
        const rest = await pools.queryAll({ limit: 2, continuation: first.continuation });
        expect(rest.items.map((s) => s.item.id)).toEqual(['p3']);
        expect(rest.continuation).toBeUndefined();
      });
    });
  });
}
