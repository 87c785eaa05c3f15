// How many messages a node takes ahead of its free slots, from how often its tasks end.
import { describe, expect, it } from 'vitest';
import { holdsAhead, LookAhead } from '../../agent/look-ahead.js';

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

  it('counts the endings of a node starting afresh over the time since it began, at least the lead', () => {
    const ahead = new LookAhead(options);
    ahead.began(0);
    // 6 endings in the first 300 ms: 20/s x 0.25 s = 5 (counted over the whole window: 2).
    for (let i = 1; i <= 6; i++) ahead.ended(i * 50);
    expect(ahead.size(300)).toBe(5);
    // A lone early ending is counted over the lead, not over the 50 ms it took.
    const early = new LookAhead(options);
    early.began(0);
    early.ended(50);
    expect(early.size(50)).toBe(1);
  });

  it('counts over the whole window once the node has been busy that long, and starts afresh only after a window with no endings', () => {
    const ahead = new LookAhead(options);
    ahead.began(0);
    for (let i = 0; i < 20; i++) ahead.ended(1000 + i * 50);
    // Tasks keep beginning as others end: no fresh start, the rate is 20/s.
    ahead.began(1960);
    expect(ahead.size(1960)).toBe(5);
    // Idle for over a window, then busy again: 4 endings in the 200 ms since count as 20/s.
    ahead.began(5000);
    for (let i = 1; i <= 4; i++) ahead.ended(5000 + i * 50);
    expect(ahead.size(5200)).toBe(4);
  });
});

describe('holdsAhead', () => {
  it('drops the look-ahead only when the queue ran low while another node is idle', () => {
    expect(holdsAhead(true, undefined)).toBe(true);
    expect(holdsAhead(true, 2)).toBe(true);
    expect(holdsAhead(false, undefined)).toBe(true);
    expect(holdsAhead(false, 0)).toBe(true);
    expect(holdsAhead(false, 1)).toBe(false);
  });
});
