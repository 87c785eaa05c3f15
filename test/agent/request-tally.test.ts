// An agent's request totals reach whoever measures it through files in a folder, and the
// benchmark's reader sums every agent's file into counts since its last reset.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RequestTally } from '../../agent/request-tally.js';
import { AgentRequestCounts } from '../../bench/agent-request-counts.js';

let dir: string;
const tallies: RequestTally[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fnbatch-tally-'));
});

afterEach(() => {
  for (const tally of tallies.splice(0)) tally.close();
  rmSync(dir, { recursive: true, force: true });
});

function start(nodeId: string): RequestTally {
  const tally = RequestTally.start(dir, nodeId);
  tallies.push(tally);
  return tally;
}

describe('request tally', () => {
  it('writes each agent\'s running totals, and the reader sums the agents', async () => {
    const one = start('pool-d0');
    const two = start('pool-d1');
    one.counter.increment('queue.receive');
    one.counter.increment('queue.delete');
    two.counter.increment('queue.delete');
    two.counter.increment('api.agent/reports');
    const counts = new AgentRequestCounts(dir);
    await counts.settle();
    expect(counts.snapshot()).toEqual({ 'api.agent/reports': 1, 'queue.delete': 2, 'queue.receive': 1 });
    expect(counts.get('queue.delete')).toBe(2);
    expect(readdirSync(dir).sort()).toEqual([`pool-d0.${process.pid}.json`, `pool-d1.${process.pid}.json`]);
  });

  it('counts from zero after a reset', async () => {
    const tally = start('pool-d0');
    tally.counter.increment('queue.receive');
    const counts = new AgentRequestCounts(dir);
    await counts.settle();
    counts.reset();
    expect(counts.snapshot()).toEqual({});
    tally.counter.increment('queue.receive');
    tally.counter.increment('queue.delete');
    await counts.settle();
    expect(counts.snapshot()).toEqual({ 'queue.delete': 1, 'queue.receive': 1 });
  });

  it('writes the final totals when closed, without waiting for the next write', () => {
    const tally = start('pool-d0');
    for (let i = 0; i < 5; i++) tally.counter.increment('blob.appendBlock');
    tally.close();
    expect(new AgentRequestCounts(dir).get('blob.appendBlock')).toBe(5);
  });

  it('skips files that are not totals', async () => {
    writeFileSync(path.join(dir, 'stray.json'), '{ not json');
    writeFileSync(path.join(dir, 'other.json'), '{"counts": null}');
    start('pool-d0').counter.increment('queue.send');
    const counts = new AgentRequestCounts(dir);
    await counts.settle();
    expect(counts.snapshot()).toEqual({ 'queue.send': 1 });
  });
});
