import { describe, expect, it } from 'vitest';
import { packHoldsBack, type NodeOccupancy } from '../../shared/batch/placement.js';

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
