import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { QueueClient } from '@azure/storage-queue';
import type { Clock, HostLog, InvokeRequest, RegisteredFunction } from '../../local-host/contracts.js';
import type { QueuesOptions } from '../../local-host/host-json.js';
import { loadAppSettings } from '../../local-host/settings.js';
import { startAzurite, type AzuriteHandle } from '../../local-host/services/azurite.js';
import { QueueTriggerListener, normalizeQueueName } from '../../local-host/triggers/queue-trigger.js';

let azurite: AzuriteHandle;
beforeAll(async () => {
  azurite = await startAzurite({ inMemory: true });
});
afterAll(async () => {
  await azurite?.stop();
});

const QUEUES: QueuesOptions = {
  batchSize: 16,
  newBatchThreshold: 8,
  maxPollingIntervalMs: 200,
  visibilityTimeoutMs: 0,
  maxDequeueCount: 5,
  messageEncoding: 'base64',
};

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
let queueCounter = 0;
const uniqueQueue = (prefix: string) => `${prefix}-${process.pid}-${++queueCounter}`;

function queueFunction(trigger: Record<string, unknown>): RegisteredFunction {
  return {
    name: 'work',
    metadata: { name: 'work', bindings: {} },
    triggerName: 'queueItem',
    trigger: { type: 'queueTrigger', direction: 'in', ...trigger },
    handler: () => undefined,
  };
}

interface Call {
  body: string;
  metadata: Record<string, unknown>;
}

function recordingLog(): HostLog & { warnings: string[]; errors: string[] } {
  const warnings: string[] = [];
  const errors: string[] = [];
  return { warnings, errors, info: () => undefined, warn: (m) => warnings.push(m), error: (m) => errors.push(m) };
}

function listen(opts: {
  queueName: string;
  queues?: Partial<QueuesOptions>;
  behaviour?: (call: Call, request: InvokeRequest) => Promise<void> | void;
  settings?: Record<string, string>;
  connection?: string;
  clock?: Clock;
  messageLeaseMs?: number;
}) {
  const calls: Call[] = [];
  const log = recordingLog();
  const listener = new QueueTriggerListener({
    fn: queueFunction({ queueName: opts.queueName, ...(opts.connection ? { connection: opts.connection } : {}) }),
    settings: loadAppSettings('/nonexistent-app-dir', { AzureWebJobsStorage: azurite.connectionString, ...opts.settings }),
    queues: { ...QUEUES, ...opts.queues },
    log,
    clock: opts.clock,
    messageLeaseMs: opts.messageLeaseMs,
    developmentStorageConnectionString: azurite.connectionString,
    invoke: async (_fn, request) => {
      const metadata = Object.fromEntries(
        Object.entries(request.triggerMetadata ?? {}).map(([k, v]) => [k, v.string ?? JSON.parse(v.json!)]),
      );
      const call = { body: request.triggerData.string!, metadata };
      calls.push(call);
      await opts.behaviour?.(call, request);
      return { outputs: {} };
    },
  });
  return { listener, calls, log };
}

function queueClient(name: string): QueueClient {
  return new QueueClient(azurite.connectionString, name);
}

async function messageCount(name: string): Promise<number> {
  return (await queueClient(name).getProperties()).approximateMessagesCount ?? -1;
}

const waitLong = { timeout: 60_000, interval: 50 };

describe('QueueTriggerListener', () => {
  it('invokes with the decoded body and host metadata, then deletes the message', async () => {
    const name = uniqueQueue('ok');
    const { listener, calls } = listen({ queueName: name });
    await listener.start(); // creates the queue
    const sent = await queueClient(name).sendMessage(b64('{"task":1}'));
    await vi.waitFor(() => expect(calls).toHaveLength(1), waitLong);
    await listener.stop();

    const { body, metadata } = calls[0]!;
    expect(body).toBe('{"task":1}');
    expect(metadata).toMatchObject({ Id: sent.messageId, DequeueCount: 1, QueueTrigger: '{"task":1}' });
    expect(typeof metadata.PopReceipt).toBe('string');
    for (const key of ['ExpirationTime', 'InsertionTime', 'NextVisibleTime']) {
      expect(Number.isNaN(Date.parse(metadata[key] as string))).toBe(false);
    }
    expect(await messageCount(name)).toBe(0);
  });

  it('retries a failing message with a rising dequeue count until it succeeds', async () => {
    const name = uniqueQueue('retry');
    const { listener, calls, log } = listen({
      queueName: name,
      behaviour: (call) => {
        if ((call.metadata.DequeueCount as number) < 3) throw new Error('transient');
      },
    });
    await listener.start();
    await queueClient(name).sendMessage(b64('again'));
    await vi.waitFor(() => expect(calls).toHaveLength(3), waitLong);
    await listener.stop();
    expect(calls.map((c) => c.metadata.DequeueCount)).toEqual([1, 2, 3]);
    expect(log.warnings.filter((w) => w.includes('transient'))).toHaveLength(2);
    expect(await messageCount(name)).toBe(0);
    expect(await queueClient(`${name}-poison`).exists()).toBe(false);
  });

  it('moves a message to <queue>-poison after maxDequeueCount failures, text unchanged', async () => {
    const name = uniqueQueue('poison');
    const { listener, calls, log } = listen({
      queueName: name,
      queues: { maxDequeueCount: 3 },
      behaviour: () => {
        throw new Error('always');
      },
    });
    await listener.start();
    await queueClient(name).sendMessage(b64('doomed'));
    const poison = queueClient(`${name}-poison`);
    await vi.waitFor(async () => expect(await poison.exists()).toBe(true), waitLong);
    await vi.waitFor(async () => expect((await poison.peekMessages()).peekedMessageItems).toHaveLength(1), waitLong);
    await listener.stop();
    expect(calls.map((c) => c.metadata.DequeueCount)).toEqual([1, 2, 3]);
    expect((await poison.peekMessages()).peekedMessageItems[0]!.messageText).toBe(b64('doomed'));
    expect(await messageCount(name)).toBe(0);
    expect(log.warnings.join('\n')).toMatch(/MaxDequeueCount of 3.*-poison/);
  });

  it('poisons without invoking a message that arrives already past maxDequeueCount', async () => {
    const name = uniqueQueue('late');
    const q = queueClient(name);
    await q.create();
    await q.sendMessage(b64('tired'));
    for (let i = 0; i < 3; i++) {
      const [m] = (await q.receiveMessages({ visibilityTimeout: 30 })).receivedMessageItems;
      await q.updateMessage(m!.messageId, m!.popReceipt, undefined, 0);
    }
    const { listener, calls } = listen({ queueName: name, queues: { maxDequeueCount: 2 } });
    await listener.start();
    const poison = queueClient(`${name}-poison`);
    await vi.waitFor(async () => expect(await poison.exists()).toBe(true), waitLong);
    await vi.waitFor(async () => expect((await poison.peekMessages()).peekedMessageItems).toHaveLength(1), waitLong);
    await listener.stop();
    expect(calls).toHaveLength(0);
    expect(await messageCount(name)).toBe(0);
  });

  it('runs a batch concurrently and fetches more only when in-flight is down to newBatchThreshold', async () => {
    const name = uniqueQueue('batch');
    const q = queueClient(name);
    await q.create();
    for (let i = 0; i < 20; i++) await q.sendMessage(b64(`m${i}`));

    const gates: (() => void)[] = [];
    let active = 0;
    let maxActive = 0;
    const { listener, calls } = listen({
      queueName: name,
      queues: { batchSize: 4, newBatchThreshold: 2 },
      behaviour: async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise<void>((r) => gates.push(r));
        active--;
      },
    });
    await listener.start();
    await vi.waitFor(() => expect(active).toBe(4), waitLong);
    // With 4 in flight (> threshold 2) nothing more is fetched, however long we wait.
    await new Promise((r) => setTimeout(r, 500));
    expect(calls).toHaveLength(4);

    gates.splice(0, 2).forEach((open) => open()); // in flight drops to 2: another batch of 4
    await vi.waitFor(() => expect(active).toBe(6), waitLong);
    expect(calls).toHaveLength(8);

    // Release everything as it arrives.
    const drain = setInterval(() => gates.splice(0).forEach((open) => open()), 20);
    try {
      await vi.waitFor(() => expect(calls).toHaveLength(20), waitLong);
      await vi.waitFor(() => expect(active).toBe(0), waitLong);
    } finally {
      clearInterval(drain);
    }
    await listener.stop();
    expect(maxActive).toBe(6); // batchSize + newBatchThreshold
    expect(new Set(calls.map((c) => c.body)).size).toBe(20);
    expect(await messageCount(name)).toBe(0);
  });

  it('resolves %setting% queue names (lower-cased) and a named connection holding UseDevelopmentStorage=true', async () => {
    const name = uniqueQueue('setting');
    const { listener, calls } = listen({
      queueName: '%JobsQueue%',
      connection: 'MyStorage',
      settings: { JobsQueue: name.toUpperCase(), MyStorage: 'UseDevelopmentStorage=true' },
    });
    expect(listener.queueName).toBe(name);
    await listener.start();
    await queueClient(name).sendMessage(b64('via setting'));
    await vi.waitFor(() => expect(calls.map((c) => c.body)).toEqual(['via setting']), waitLong);
    await listener.stop();
  });

  it('reports a missing connection setting or queue name setting', () => {
    expect(() => listen({ queueName: 'x-queue', connection: 'NoSuchStorage' })).toThrow(/work.*NoSuchStorage/);
    expect(() => listen({ queueName: '%NoSuchQueueSetting%' })).toThrow(/NoSuchQueueSetting/);
    expect(() => listen({ queueName: 'bad--name' })).toThrow(/not a valid queue name/);
  });

  it('base64 encoding: decodes base64, passes non-base64 through with a warning; "none" passes text as is', async () => {
    const name = uniqueQueue('enc');
    const { listener, calls, log } = listen({ queueName: name, queues: { batchSize: 1, newBatchThreshold: 0 } });
    await listener.start();
    await queueClient(name).sendMessage(b64('héllo wörld'));
    await vi.waitFor(() => expect(calls).toHaveLength(1), waitLong);
    await queueClient(name).sendMessage('not base64!');
    await vi.waitFor(() => expect(calls).toHaveLength(2), waitLong);
    await listener.stop();
    expect(calls.map((c) => c.body)).toEqual(['héllo wörld', 'not base64!']);
    expect(log.warnings.join('\n')).toMatch(/not base64/);

    const plain = uniqueQueue('plain');
    const raw = listen({ queueName: plain, queues: { messageEncoding: 'none' } });
    await raw.listener.start();
    await queueClient(plain).sendMessage(b64('stays encoded'));
    await vi.waitFor(() => expect(raw.calls.map((c) => c.body)).toEqual([b64('stays encoded')]), waitLong);
    await raw.listener.stop();
  });

  it('stop() stops receiving and waits for the invocation under way', async () => {
    const name = uniqueQueue('stop');
    let release!: () => void;
    let finished = false;
    const { listener, calls } = listen({
      queueName: name,
      behaviour: async () => {
        await new Promise<void>((r) => (release = r));
        finished = true;
      },
    });
    await listener.start();
    await queueClient(name).sendMessage(b64('slow'));
    await vi.waitFor(() => expect(calls).toHaveLength(1), waitLong);
    let stopped = false;
    const stopping = listener.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(finished).toBe(true);
    expect(await messageCount(name)).toBe(0);
    await queueClient(name).sendMessage(b64('after stop'));
    await new Promise((r) => setTimeout(r, 500));
    expect(calls).toHaveLength(1);
  });

  it('at-least-once: a message whose host died mid-invocation reappears when its lease lapses', async () => {
    const name = uniqueQueue('crash');
    // The "crashed" host: its clock never advances, so it never renews the lease (a dead process would not either).
    const frozen: Clock = { now: () => 0, setTimer: () => () => undefined };
    let unblock!: () => void;
    const crashed = listen({
      queueName: name,
      clock: frozen,
      messageLeaseMs: 2_000,
      behaviour: () => new Promise<void>((r) => (unblock = r)),
    });
    // Sent before start: with its clock frozen, the crashed host's first empty poll would sleep forever.
    await queueClient(name).create();
    await queueClient(name).sendMessage(b64('survivor'));
    await crashed.listener.start();
    await vi.waitFor(() => expect(crashed.calls).toHaveLength(1), waitLong);

    const healthy = listen({ queueName: name });
    await healthy.listener.start();
    await vi.waitFor(() => expect(healthy.calls).toHaveLength(1), waitLong);
    await healthy.listener.stop();
    expect(healthy.calls[0]!.body).toBe('survivor');
    expect(healthy.calls[0]!.metadata.DequeueCount).toBe(2);
    expect(await messageCount(name)).toBe(0);

    unblock();
    await crashed.listener.stop();
    expect(crashed.log.errors.join('\n')).toMatch(/could not settle/);
  });

  it('keeps a long-running message hidden by renewing its lease', async () => {
    const name = uniqueQueue('lease');
    let release!: () => void;
    const { listener, calls } = listen({
      queueName: name,
      messageLeaseMs: 4_000,
      behaviour: () => new Promise<void>((r) => (release = r)),
    });
    await listener.start();
    await queueClient(name).sendMessage(b64('long'));
    await vi.waitFor(() => expect(calls).toHaveLength(1), waitLong);
    await new Promise((r) => setTimeout(r, 7_000)); // well past the 4 s lease
    expect(calls).toHaveLength(1);
    release();
    await listener.stop();
    expect(await messageCount(name)).toBe(0);
  });
});

describe('normalizeQueueName', () => {
  it.each([
    ['Jobs', 'jobs'],
    ['abc', 'abc'],
    ['a-b-c1', 'a-b-c1'],
  ])('%s -> %s', (input, output) => expect(normalizeQueueName(input)).toBe(output));

  it.each(['ab', '-abc', 'abc-', 'a--b', 'a_b', 'x'.repeat(64)])('rejects %j', (input) => {
    expect(() => normalizeQueueName(input)).toThrow(/valid queue name/);
  });
});
