import { describe, expect, it } from 'vitest';
import { clonePlainData, copyStoredData } from '../../shared/adapters/plain-data.js';

describe('clonePlainData', () => {
  it('copies nested objects and arrays deeply, equal to what JSON would carry', () => {
    const doc = { id: 't1', n: 3, ok: true, none: null, deps: { taskIds: ['a', 'b'] }, list: [{ x: 1 }, [2, 3]], gone: undefined, holes: [1, undefined] };
    const copy = clonePlainData(doc);
    expect(copy).toEqual(JSON.parse(JSON.stringify(doc)));
    expect(copy).not.toHaveProperty('gone');
    expect(copy.holes).toEqual([1, null]);
    copy.deps.taskIds.push('c');
    (copy.list[0] as { x: number }).x = 9;
    expect(doc.deps.taskIds).toEqual(['a', 'b']);
    expect((doc.list[0] as { x: number }).x).toBe(1);
  });

  it('keeps objects without a prototype', () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    expect(clonePlainData({ bare })).toEqual({ bare: { a: 1 } });
  });

  it.each([
    ['a Date', { when: new Date(0) }, /when is a Date/],
    ['a Map', { m: new Map() }, /m is a Map/],
    ['a function', { f: () => 1 }, /f is a function/],
    ['a bigint', { big: 1n }, /big is a bigint/],
    ['NaN', { deep: { list: [1, Number.NaN] } }, /deep\.list\[1\] is NaN/],
    ['Infinity', { n: Number.POSITIVE_INFINITY }, /n is Infinity/],
    ['a symbol in an array', { tags: ['a', Symbol('b')] }, /tags\[1\] is a symbol/],
    ['undefined itself', undefined, /the document is a undefined/],
  ])('refuses %s, naming where it is', (_what, doc, message) => {
    expect(() => clonePlainData(doc)).toThrow(TypeError);
    expect(() => clonePlainData(doc)).toThrow(message);
  });
});

describe('copyStoredData', () => {
  it('copies what a store holds deeply: nothing in the copy is shared with the original', () => {
    const stored = clonePlainData({ id: 't1', n: 3, none: null, deps: { taskIds: ['a', 'b'] }, list: [{ x: 1 }, [2, 3]] });
    const copy = copyStoredData(stored);
    expect(copy).toEqual(stored);
    copy.deps.taskIds.push('c');
    (copy.list[0] as { x: number }).x = 9;
    (copy.list[1] as number[]).push(4);
    expect(stored).toEqual({ id: 't1', n: 3, none: null, deps: { taskIds: ['a', 'b'] }, list: [{ x: 1 }, [2, 3]] });
  });
});
