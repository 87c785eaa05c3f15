// One conformance suite for every WorkQueue adapter. Timing rules: leases that must run out are
// short (SHORT_MS) and are waited for by polling with a generous deadline; leases that must still
// hold are long (LONG_MS), so a slow machine cannot make a message reappear early. Nothing asserts
// an upper bound on elapsed time.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QueueError, type QueueErrorCode } from '../../shared/ports/errors.js';
import type { QueueMessage, WorkQueue } from '../../shared/ports/work-queue.js';

export interface WorkQueueFixture {
  queue: WorkQueue;
  cleanup(): Promise<void>;
  /** Lets ms pass: sleeps in real time, advances the clock in virtual time. */
  elapse(ms: number): Promise<void>;
}

const SHORT_MS = 1_000;
const LONG_MS = 60_000;
const POLL_MS = 250;
const DEADLINE_MS = 30_000;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function expectQueueError(promise: Promise<unknown>, code: QueueErrorCode): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected QueueError ${code}`).toBeInstanceOf(QueueError);
  expect((error as QueueError).code).toBe(code);
}

export function workQueueConformance(name: string, factory: () => Promise<WorkQueueFixture>): void {
  describe(`WorkQueue conformance: ${name}`, () => {
    let fixture: WorkQueueFixture;
    let queue: WorkQueue;

    beforeEach(async () => {
      fixture = await factory();
      queue = fixture.queue;
    });

    afterEach(async () => {
      await fixture?.cleanup();
    });

    /** Polls until a receive returns something, letting time pass between tries. */
    async function receiveEventually(visibilityTimeoutMs: number, max = 1): Promise<QueueMessage[]> {
      for (let waited = 0; waited <= DEADLINE_MS; waited += POLL_MS) {
        const messages = await queue.receive(max, visibilityTimeoutMs);
        if (messages.length > 0) return messages;
        await fixture.elapse(POLL_MS);
      }
      throw new Error(`no message became visible within ${DEADLINE_MS} ms`);
    }

    describe('send and receive', () => {
      it('delivers the body exactly as sent, with a lease', async () => {
        const body = JSON.stringify({ task: 't-1', cmd: 'echo <a & b> "quoted"', note: 'ünïcødé ✓ 日本' });
        const { messageId } = await queue.send(body);
        const [message, ...rest] = await queue.receive(1, LONG_MS);
        expect(rest).toEqual([]);
        expect(message).toMatchObject({ messageId, body, dequeueCount: 1 });
        expect(message!.popReceipt).toEqual(expect.any(String));
        expect(message!.popReceipt.length).toBeGreaterThan(0);
        expect(message!.insertedOn).toBeInstanceOf(Date);
        expect(message!.nextVisibleOn.getTime()).toBeGreaterThan(message!.insertedOn.getTime());
      });

      it('returns nothing from an empty queue', async () => {
        expect(await queue.receive(32, LONG_MS)).toEqual([]);
      });

      it('hides a received message while its lease holds', async () => {
        await queue.send('one');
        expect(await queue.receive(1, LONG_MS)).toHaveLength(1);
        expect(await queue.receive(32, LONG_MS)).toEqual([]);
      });

      it('hands out at most max messages per receive, each message to one receiver', async () => {
        const sent = new Set<string>();
        for (let i = 0; i < 5; i++) sent.add((await queue.send(`m${i}`)).messageId);
        const first = await queue.receive(3, LONG_MS);
        expect(first).toHaveLength(3);
        const second = await queue.receive(32, LONG_MS);
        expect(second).toHaveLength(2);
        const received = [...first, ...second].map((m) => m.messageId);
        expect(new Set(received)).toEqual(sent);
        expect(await queue.receive(32, LONG_MS)).toEqual([]);
      });

      it('rejects a batch size outside 1..32', async () => {
        await expect(queue.receive(0, LONG_MS)).rejects.toThrow(RangeError);
        await expect(queue.receive(33, LONG_MS)).rejects.toThrow(RangeError);
      });
    });

    describe('peek', () => {
      it('shows the front messages, oldest first, without leasing or counting a dequeue', async () => {
        const sentIds: string[] = [];
        for (let i = 0; i < 3; i++) sentIds.push((await queue.send(`m${i}`)).messageId);
        const peeked = await queue.peek(2);
        expect(peeked.map((m) => [m.messageId, m.body, m.dequeueCount])).toEqual([
          [sentIds[0], 'm0', 0],
          [sentIds[1], 'm1', 0],
        ]);
        expect(peeked[0]!.insertedOn).toBeInstanceOf(Date);
        expect(peeked[0]!).not.toHaveProperty('popReceipt');
        const received = await queue.receive(32, LONG_MS);
        expect(received.map((m) => [m.body, m.dequeueCount])).toEqual([
          ['m0', 1],
          ['m1', 1],
          ['m2', 1],
        ]);
      });

      it('leaves out leased and delayed messages', async () => {
        await queue.send('leased');
        await queue.send('delayed', { visibilityDelayMs: LONG_MS });
        await queue.send('visible');
        expect(await queue.receive(1, LONG_MS)).toHaveLength(1);
        expect((await queue.peek(32)).map((m) => m.body)).toEqual(['visible']);
        expect(await queue.peek(1)).toHaveLength(1);
      });

      it('returns nothing from an empty queue, and rejects a batch size outside 1..32', async () => {
        expect(await queue.peek(32)).toEqual([]);
        await expect(queue.peek(0)).rejects.toThrow(RangeError);
        await expect(queue.peek(33)).rejects.toThrow(RangeError);
      });
    });

    describe('at-least-once redelivery', () => {
      it('redelivers an undeleted message after its lease, with a higher dequeueCount and a new receipt', async () => {
        const { messageId } = await queue.send('retry me');
        const [first] = await queue.receive(1, SHORT_MS);
        const [second] = await receiveEventually(SHORT_MS);
        expect(second).toMatchObject({ messageId, body: 'retry me', dequeueCount: 2 });
        expect(second!.popReceipt).not.toBe(first!.popReceipt);
        const [third] = await receiveEventually(LONG_MS);
        expect(third).toMatchObject({ messageId, dequeueCount: 3 });
      });

      it('turns the old receipt stale once someone else has received the message', async () => {
        await queue.send('contended');
        const [mine] = await queue.receive(1, SHORT_MS);
        const [theirs] = await receiveEventually(LONG_MS);
        await expectQueueError(queue.delete(mine!), 'LeaseLost');
        await expectQueueError(queue.extendLease(mine!, LONG_MS), 'LeaseLost');
        expect(await queue.approximateCount()).toBe(1);
        await queue.delete(theirs!);
        expect(await queue.approximateCount()).toBe(0);
      });

      it('keeps a receipt valid past its lease until someone else receives the message', async () => {
        await queue.send('slow worker');
        const [message] = await queue.receive(1, SHORT_MS);
        await fixture.elapse(SHORT_MS + 1_500);
        await queue.delete(message!);
        expect(await queue.approximateCount()).toBe(0);
        expect(await queue.receive(32, LONG_MS)).toEqual([]);
      });
    });

    describe('extendLease', () => {
      it('moves the lease end, hands out a new receipt and retires the old one', async () => {
        await queue.send('long task');
        const [message] = await queue.receive(1, SHORT_MS);
        const extended = await queue.extendLease(message!, LONG_MS);
        expect(extended).toMatchObject({
          messageId: message!.messageId,
          body: 'long task',
          dequeueCount: 1,
        });
        expect(extended.popReceipt).not.toBe(message!.popReceipt);
        expect(extended.nextVisibleOn.getTime()).toBeGreaterThan(message!.nextVisibleOn.getTime());
        await fixture.elapse(SHORT_MS + 1_500);
        expect(await queue.receive(32, LONG_MS)).toEqual([]);
        await expectQueueError(queue.delete(message!), 'LeaseLost');
        await queue.delete(extended);
        expect(await queue.approximateCount()).toBe(0);
      });

      it('can be extended again with the newest receipt', async () => {
        await queue.send('very long task');
        const [message] = await queue.receive(1, SHORT_MS);
        const once = await queue.extendLease(message!, SHORT_MS);
        const twice = await queue.extendLease(once, LONG_MS);
        await expectQueueError(queue.extendLease(once, LONG_MS), 'LeaseLost');
        await queue.delete(twice);
        expect(await queue.approximateCount()).toBe(0);
      });

      it('releases the message at once with a zero timeout', async () => {
        const { messageId } = await queue.send('give back');
        const [message] = await queue.receive(1, LONG_MS);
        await queue.extendLease(message!, 0);
        const [again] = await receiveEventually(LONG_MS);
        expect(again).toMatchObject({ messageId, dequeueCount: 2 });
      });
    });

    describe('delete', () => {
      it('removes the message for good', async () => {
        await queue.send('done soon');
        const [message] = await queue.receive(1, SHORT_MS);
        await queue.delete(message!);
        expect(await queue.approximateCount()).toBe(0);
        await fixture.elapse(SHORT_MS + 1_500);
        expect(await queue.receive(32, LONG_MS)).toEqual([]);
      });

      it('fails LeaseLost the second time', async () => {
        await queue.send('once');
        const [message] = await queue.receive(1, LONG_MS);
        await queue.delete(message!);
        await expectQueueError(queue.delete(message!), 'LeaseLost');
      });

      it('leaves the other messages alone', async () => {
        await queue.send('a');
        await queue.send('b');
        const [first] = await queue.receive(1, LONG_MS);
        await queue.delete(first!);
        const [second] = await queue.receive(1, LONG_MS);
        expect(second!.messageId).not.toBe(first!.messageId);
        expect([first!.body, second!.body].sort()).toEqual(['a', 'b']);
      });
    });

    describe('visibility delay', () => {
      it('keeps a delayed message hidden but counted', async () => {
        await queue.send('later', { visibilityDelayMs: LONG_MS });
        expect(await queue.receive(32, LONG_MS)).toEqual([]);
        expect(await queue.approximateCount()).toBe(1);
      });

      it('delivers a delayed message once the delay has passed, as a first delivery', async () => {
        const { messageId } = await queue.send('soon', { visibilityDelayMs: SHORT_MS });
        const [message] = await receiveEventually(LONG_MS);
        expect(message).toMatchObject({ messageId, body: 'soon', dequeueCount: 1 });
      });

      it('rejects a delay not shorter than the time to live', async () => {
        await expect(queue.send('never', { visibilityDelayMs: 5_000, timeToLiveMs: 5_000 })).rejects.toThrow(RangeError);
      });
    });

    describe('time to live', () => {
      it('drops a message whose time to live has passed', async () => {
        await queue.send('ephemeral', { timeToLiveMs: SHORT_MS });
        await queue.send('durable');
        await fixture.elapse(SHORT_MS + 1_500);
        const received = await queue.receive(32, LONG_MS);
        expect(received.map((m) => m.body)).toEqual(['durable']);
      });
    });

    describe('count and clear', () => {
      it('counts visible and leased messages', async () => {
        expect(await queue.approximateCount()).toBe(0);
        for (let i = 0; i < 3; i++) await queue.send(`m${i}`);
        const [leased] = await queue.receive(1, LONG_MS);
        expect(await queue.approximateCount()).toBe(3);
        await queue.delete(leased!);
        expect(await queue.approximateCount()).toBe(2);
      });

      it('clears every message, leased or not', async () => {
        for (let i = 0; i < 3; i++) await queue.send(`m${i}`);
        const [leased] = await queue.receive(1, LONG_MS);
        await queue.clear();
        expect(await queue.approximateCount()).toBe(0);
        expect(await queue.receive(32, LONG_MS)).toEqual([]);
        await expectQueueError(queue.delete(leased!), 'LeaseLost');
        await queue.send('after clear');
        expect((await queue.receive(32, LONG_MS)).map((m) => m.body)).toEqual(['after clear']);
      });

      it('works through a backlog: every message received and deleted exactly once', async () => {
        const sent = new Set<string>();
        for (let i = 0; i < 40; i++) sent.add((await queue.send(`job-${i}`)).messageId);
        const seen = new Set<string>();
        for (let batch = await queue.receive(32, LONG_MS); batch.length > 0; batch = await queue.receive(32, LONG_MS)) {
          for (const message of batch) {
            expect(seen.has(message.messageId)).toBe(false);
            seen.add(message.messageId);
            await queue.delete(message);
          }
        }
        expect(seen).toEqual(sent);
        expect(await queue.approximateCount()).toBe(0);
      });
    });
  });
}
