import { describe, expect, it } from 'vitest';
import { HoldBack, packHoldsBack, PEEK_LIMIT, spreadHoldsBack, spreadIdlePeers, spreadTakesAtMost, type NodeOccupancy } from '../../shared/batch/placement.js';

const node = (nodeId: string, usedSlots: number, taskSlots = 4): NodeOccupancy => ({ nodeId, usedSlots, taskSlots });

describe('pack: which nodes hold back from new work', () => {
  it('leaves work to the busiest node with a free slot, idle nodes taking turns by id', () => {
    const pool = [node('a', 0), node('b', 2), node('c', 0)];
    expect(pool.filter((n) => packHoldsBack(n, pool)).map((n) => n.nodeId)).toEqual(['a', 'c']);
    const idle = [node('b', 0), node('a', 0), node('c', 0)];
    expect(idle.filter((n) => packHoldsBack(n, idle)).map((n) => n.nodeId)).toEqual(['b', 'c']);
  });

  it('passes over full nodes: the next in pack order takes the work', () => {
    const pool = [node('a', 4), node('b', 1), node('c', 3, 3), node('d', 0)];
    expect(pool.filter((n) => packHoldsBack(n, pool)).map((n) => n.nodeId)).toEqual(['d']);
    const full = [node('a', 4), node('b', 3, 3)];
    expect(full.some((n) => packHoldsBack(n, full))).toBe(false);
  });

  it('never holds back a node alone in its pool, and exactly one node takes work while any has room', () => {
    expect(packHoldsBack(node('a', 0), [])).toBe(false);
    expect(packHoldsBack(node('a', 0), [node('a', 0)])).toBe(false);
    for (let seed = 0; seed < 200; seed++) {
      const pool = Array.from({ length: 1 + (seed % 5) }, (_, i) => node(`n${(i * 7 + seed) % 11}-${i}`, (seed * (i + 3)) % 5, 4));
      const withRoom = pool.filter((n) => n.usedSlots < n.taskSlots);
      const taking = withRoom.filter((n) => !packHoldsBack(n, pool));
      expect(taking).toHaveLength(withRoom.length > 0 ? 1 : 0);
    }
  });
});

describe('spread: idle nodes first', () => {
  it('counts as idle peers the other nodes that run nothing', () => {
    const pool = [node('a', 3), node('b', 0), node('c', 4), node('d', 0), node('e', 0, 0)];
    expect(spreadIdlePeers(pool[0]!, pool)).toBe(2);
    expect(spreadIdlePeers(pool[1]!, pool)).toBe(1); // b itself does not count
    expect(spreadIdlePeers(node('a', 0), [node('a', 0)])).toBe(0);
  });

  it('holds back a node running tasks, and lets an idle node take one at a time, while a peer is idle', () => {
    expect(spreadHoldsBack(1, 1)).toBe(true);
    expect(spreadHoldsBack(0, 2)).toBe(false);
    expect(spreadHoldsBack(3, 0)).toBe(false);
    expect(spreadHoldsBack(3, undefined)).toBe(false);
    expect(spreadTakesAtMost(0, 1)).toBe(1);
    expect(spreadTakesAtMost(2, 1)).toBe(Number.POSITIVE_INFINITY);
    expect(spreadTakesAtMost(0, undefined)).toBe(Number.POSITIVE_INFINITY);
  });

  it('starts a task on every idle node before a second one on any, tasks arriving one at a time', () => {
    for (let size = 1; size <= 6; size++) {
      const pool = Array.from({ length: size }, (_, i) => node(`n${i}`, 0));
      for (let task = 0; task < size; task++) {
        // The first node in the list that does not hold back takes the task.
        const taker = pool.find((n) => !spreadHoldsBack(n.usedSlots, spreadIdlePeers(n, pool)))!;
        taker.usedSlots++;
      }
      expect(pool.map((n) => n.usedSlots)).toEqual(pool.map(() => 1));
    }
  });
});

describe('holding back the front message', () => {
  const holdMs = { pack: 250, spread: 100 };

  it('counts from when a message was first seen at the front, starting over for the next one', () => {
    const hold = new HoldBack(holdMs);
    const pack = { holdBack: true };
    expect(hold.holding(pack, 0)).toBe(true);
    expect(hold.looksAt(pack, 8)).toBe(1);
    expect(hold.decide(['m1'], 1_000, pack)).toEqual({ waitMs: 250 });
    expect(hold.decide(['m1'], 1_200, pack)).toEqual({ waitMs: 50 });
    expect(hold.decide(['m1'], 1_300, pack)).toEqual({ take: Number.POSITIVE_INFINITY });
    expect(hold.decide(['m2'], 1_300, pack)).toEqual({ waitMs: 250 });
    expect(hold.holding(pack, 0)).toBe(true); // pack's news is of a node order, not of loads: it stands
    expect(hold.holding({}, 3)).toBe(false);
  });

  it('under spread, holds only a node running tasks, and no more once a hold has run out, until the next answer', () => {
    const hold = new HoldBack(holdMs);
    const news = { idlePeers: 1 };
    expect(hold.holding(news, 0)).toBe(false);
    expect(hold.holding(news, 2)).toBe(true);
    expect(hold.decide(['m1'], 0, news)).toEqual({ waitMs: 100 });
    // Taken meanwhile by the idle node: the next message is held as long.
    expect(hold.decide(['m2'], 60, news)).toEqual({ waitMs: 100 });
    expect(hold.holding(news, 2)).toBe(true);
    expect(hold.decide(['m2'], 160, news)).toEqual({ take: Number.POSITIVE_INFINITY });
    // Nobody took m2: the news is out of date.
    expect(hold.holding(news, 2)).toBe(false);
    hold.answered();
    expect(hold.holding(news, 2)).toBe(true);
  });

  it('under spread, leaves one message to each idle peer and takes those beyond at once, without waiting or spending its hold', () => {
    const hold = new HoldBack(holdMs);
    const news = { idlePeers: 2 };
    // Looks far enough to see what it wants beyond the idle peers' share, within Storage's peek limit.
    expect(hold.looksAt(news, 5)).toBe(7);
    expect(hold.looksAt(news, 100)).toBe(PEEK_LIMIT);
    // A burst larger than the idle peers can start: the rest is this node's now.
    expect(hold.decide(['m1', 'm2', 'm3', 'm4', 'm5'], 0, news)).toEqual({ take: 3 });
    expect(hold.holding(news, 2)).toBe(true);
    // As many as the idle peers, or fewer: left to them for a while.
    expect(hold.decide(['m4', 'm5'], 10, news)).toEqual({ waitMs: 100 });
    expect(hold.decide(['m5'], 50, news)).toEqual({ waitMs: 100 });
  });
});
