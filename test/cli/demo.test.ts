// `fnbatch demo` (npm run demo, the README's first command) runs to the end on its own and cleans up.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runFnbatch } from './support.js';

describe('fnbatch demo', () => {
  it('runs the demo job on two local nodes, prints the result and exits 0', async () => {
    const result = await runFnbatch(['demo'], {}, 180_000);
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/pool demo: +demo-d1, demo-d2 idle, 4 task slots each/);
    expect(result.out).toMatch(/^Job demo completed in .*: 10 tasks, 10 succeeded, 0 failed\.$/m);
    expect(result.out).toContain('Result (stdout of the fan-in task report):');
    expect(result.out).toContain('7837 primes in 1..80000');
    for (const task of ['setup', '1', '8', 'report']) {
      expect(result.out).toMatch(new RegExp(`^ {2}${task} +success +demo-d[12] +http://127\\.0\\.0\\.1:\\d+/api/jobs/demo/tasks/${task}/files/stdout\\.txt$`, 'm'));
    }
    const dataDir = /\(data in (\S+)\)/.exec(result.out)?.[1];
    expect(dataDir).toBeTruthy();
    expect(existsSync(dataDir!)).toBe(false);
  });
});
