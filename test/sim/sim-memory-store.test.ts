// The simulator's own document store must behave exactly as the memory adapter does: the shared
// conformance suite, and plain-data copies that match structuredClone's.
import { describe, expect, it } from 'vitest';
import { plainCopy } from '../../shared/plain-copy.js';
import { SimMemoryStore } from '../../sim/models/sim-memory-store.js';
import { documentStoreConformance } from '../conformance/document-store.suite.js';

documentStoreConformance('simulator memory store', async () => ({ store: new SimMemoryStore(), cleanup: async () => {} }));

describe('plainCopy', () => {
  it('copies plain data deeply, as structuredClone does', () => {
    const value = { a: 1, b: 'x', c: [1, { d: null, e: undefined }], f: { g: true, h: [] as unknown[] }, i: new Date(5) };
    const copied = plainCopy(value);
    expect(copied).toEqual(structuredClone(value));
    expect(copied).not.toBe(value);
    expect(copied.c).not.toBe(value.c);
    expect(copied.c[1]).not.toBe(value.c[1]);
    expect(copied.i).toBeInstanceOf(Date);
    expect(copied.i).not.toBe(value.i);
    expect(Object.keys(copied.c[1] as object)).toEqual(['d', 'e']);
  });

  it('refuses what is not data, as structuredClone does', () => {
    expect(() => plainCopy({ f: () => 1 })).toThrow();
  });
});

describe('the read-only view for the simulator’s judges', () => {
  it('hands out the stored documents themselves and refuses every write', async () => {
    const store = new SimMemoryStore();
    const pools = await store.container<{ id: string; n: number }>('pools', '/id');
    await pools.create({ id: 'p', n: 1 });
    const peek = await store.peekView().container<{ id: string; n: number }>('pools', '/id');
    const first = await peek.read('p', 'p');
    expect(first?.item).toEqual({ id: 'p', n: 1 });
    expect((await peek.queryAll()).items[0]!.item).toBe(first!.item);
    const before = store.writes;
    await expect(peek.upsert({ id: 'p', n: 2 })).rejects.toThrow(/read-only/);
    await expect(peek.create({ id: 'q', n: 2 })).rejects.toThrow(/read-only/);
    await expect(peek.delete('p', 'p')).rejects.toThrow(/read-only/);
    expect(store.writes).toBe(before);
    await pools.replace({ id: 'p', n: 3 }, { ifMatch: first!.etag });
    expect((await peek.read('p', 'p'))?.item.n).toBe(3);
    expect(first!.item.n).toBe(1);
  });
});
