// How many messages a node takes ahead of its free slots, from how often its tasks end.
import { describe, expect, it } from 'vitest';
import { LookAhead } from '../../agent/look-ahead.js';

const options = { max: 8, leadMs: 250, windowMs: 1000, maxLeadMs: 1000 };

describe('LookAhead', () => {
  it('holds nothing until tasks have been seen ending, and nothing once they stop ending', () => {
    const ahead = new LookAhead(options);
    expect(ahead.size(0)).toBe(0);
    ahead.ended(100);
    expect(ahead.size(200)).toBe(1);
    expect(ahead.size(1100)).toBe(0);
  });

  it('holds what is expected to start within the lead time, at most the node slots', () => {
    const ahead = new LookAhead(options);
    // 20 endings in the last second: 20/s x 0.25 s = 5.
    for (let i = 0; i < 20; i++) ahead.ended(1000 + i * 50);
    expect(ahead.size(1960)).toBe(5);
    // 100 endings a second would be 25; capped at the slots.
    for (let i = 0; i < 100; i++) ahead.ended(2000 + i * 10);
    expect(ahead.size(2999)).toBe(8);
  });

  it('lengthens the lead when receives are slow, up to its maximum', () => {
    const ahead = new LookAhead({ ...options, max: 100 });
    for (let i = 0; i < 20; i++) ahead.ended(1000 + i * 50);
    ahead.received(300); // two round trips: 600 ms
    expect(ahead.size(1960)).toBe(12);
    for (let i = 0; i < 50; i++) ahead.received(5_000); // capped at 1 s
    expect(ahead.size(1960)).toBe(20);
  });

  it('holds nothing when the lead is 0', () => {
    const ahead = new LookAhead({ ...options, leadMs: 0 });
    for (let i = 0; i < 20; i++) ahead.ended(1000 + i * 50);
    expect(ahead.size(1960)).toBe(0);
  });
});
