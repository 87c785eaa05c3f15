// The agent's batching of claims and end reports, against a scripted control plane call.
import { describe, expect, it } from 'vitest';
import { ReportBatcher } from '../../agent/report-batcher.js';
import { ControlPlaneRejected, ControlPlaneUnavailable } from '../../agent/control-plane-errors.js';
import type { ItemOutcome } from '../../shared/agent-protocol.js';

interface Call {
  items: number[];
  answer(outcomes: ItemOutcome<string>[] | undefined): void;
  fail(error: Error): void;
}

function scripted() {
  const calls: Call[] = [];
  const batcher = new ReportBatcher<number, string>(
    (items) =>
      new Promise((resolve, reject) => {
        calls.push({ items, answer: resolve, fail: reject });
      }),
  );
  return { calls, batcher };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('ReportBatcher', () => {
  it('sends at once while calls are free, and what comes meanwhile in one later call', async () => {
    const { calls, batcher } = scripted();
    const first = batcher.submit(1);
    const second = batcher.submit(2);
    await tick();
    // Items handed over in one turn share the first call.
    expect(calls.map((c) => c.items)).toEqual([[1, 2]]);
    const third = batcher.submit(3);
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1, 2], [3]]);
    // Two calls are out: more items wait, then go together.
    const waiting = [4, 5, 6].map((n) => batcher.submit(n));
    await tick();
    expect(calls).toHaveLength(2);
    calls[0]!.answer([{ ok: 'one' }, { ok: 'two' }]);
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1, 2], [3], [4, 5, 6]]);
    calls[1]!.answer([{ ok: 'three' }]);
    calls[2]!.answer([{ ok: 'four' }, { ok: 'five' }, { ok: 'six' }]);
    expect(await Promise.all([first, second, third, ...waiting])).toEqual(['one', 'two', 'three', 'four', 'five', 'six']);
  });

  it("gives each item its own call's error: 5xx and missing answers are retryable, 4xx is not", async () => {
    const { calls, batcher } = scripted();
    const items = [1, 2, 3, 4].map((n) => batcher.submit(n));
    await tick();
    calls[0]!.answer([
      { ok: 'fine' },
      { status: 503, error: { code: 'ServerBusy', message: { lang: 'en-US', value: 'busy' } } },
      { status: 400, error: { code: 'MissingRequiredProperty', message: { lang: 'en-US', value: 'taskId' } } },
    ]);
    const [ok, busy, bad, missing] = await Promise.allSettled(items);
    expect(ok).toEqual({ status: 'fulfilled', value: 'fine' });
    expect((busy as PromiseRejectedResult).reason).toBeInstanceOf(ControlPlaneUnavailable);
    expect((bad as PromiseRejectedResult).reason).toBeInstanceOf(ControlPlaneRejected);
    expect((bad as PromiseRejectedResult).reason.status).toBe(400);
    expect((missing as PromiseRejectedResult).reason).toBeInstanceOf(ControlPlaneUnavailable);
  });

  it('fails every item of a call that failed, and goes on with the next', async () => {
    const { calls, batcher } = scripted();
    const lost = [batcher.submit(1), batcher.submit(2)];
    await tick();
    calls[0]!.fail(new ControlPlaneUnavailable('ECONNREFUSED'));
    for (const item of await Promise.allSettled(lost)) expect((item as PromiseRejectedResult).reason).toBeInstanceOf(ControlPlaneUnavailable);
    const later = batcher.submit(3);
    await tick();
    calls[1]!.answer([{ ok: 'three' }]);
    expect(await later).toBe('three');
  });
});
