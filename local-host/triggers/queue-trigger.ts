// Queue trigger on real Azure Storage queues, with the Functions host's processing rules:
// - batched receive of batchSize messages; another batch is fetched once the number still being
//   processed is down to newBatchThreshold, so at most batchSize + newBatchThreshold run at once;
// - when the queue is empty, polling backs off from 100 ms, doubling up to maxPollingInterval; a message resets it;
// - success deletes the message; failure makes it visible again after visibilityTimeout; a failure at
//   dequeueCount >= maxDequeueCount (or a message arriving with dequeueCount > maxDequeueCount) moves it,
//   text unchanged, to "<queue>-poison";
// - while a function runs, its message stays hidden (a lease renewed at half its length), so a crash of the
//   host only delays the message: it reappears once the lease lapses (at-least-once delivery).
//
// messageEncoding "base64": bodies that are valid base64 are decoded. A body that is NOT valid base64 is
// passed through as raw text with a warning. The Azure host instead fails to decode it and moves it
// to the poison queue; we prefer to let local development proceed, but say so in the log.
import { QueueClient, QueueServiceClient, type DequeuedMessageItem, type StoragePipelineOptions } from '@azure/storage-queue';
import type { AppSettings, Clock, HostLog, Invoker, RegisteredFunction, RpcTypedData, TriggerListener } from '../contracts.js';
import { realClock } from '../contracts.js';
import type { QueuesOptions } from '../host-json.js';

export interface QueueTriggerOptions {
  fn: RegisteredFunction;
  invoke: Invoker;
  settings: AppSettings;
  queues: QueuesOptions;
  log: HostLog;
  /** What "UseDevelopmentStorage=true" stands for: the running Azurite's connection string. */
  developmentStorageConnectionString?: string;
  clock?: Clock;
  /** How long a received message stays hidden while its function runs (renewed at half-time). Default 10 minutes, as the host. */
  messageLeaseMs?: number;
}

const MIN_POLL_MS = 100;
const MAX_RECEIVE_BATCH = 32;
const DEFAULT_LEASE_MS = 10 * 60_000;
export const DEFAULT_CONNECTION_SETTING = 'AzureWebJobsStorage';

// The listener does its own backoff; the SDK should fail fast rather than retry for minutes.
const PIPELINE_OPTIONS: StoragePipelineOptions = {
  retryOptions: { maxTries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 1_000, tryTimeoutInMs: 60_000 },
};

/** Lower-cases and checks a queue name the way the host does. */
export function normalizeQueueName(name: string): string {
  const lower = name.toLowerCase();
  if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(lower)) {
    throw new Error(
      `'${name}' is not a valid queue name: 3-63 characters of letters, digits and single dashes, starting and ending with a letter or digit`,
    );
  }
  return lower;
}

/** Finds the connection string for a binding's `connection` setting name, as the host does. */
export function resolveStorageConnection(
  settings: AppSettings,
  connection: string | undefined,
  developmentStorageConnectionString?: string,
): string {
  const name = connection && connection.length > 0 ? connection : DEFAULT_CONNECTION_SETTING;
  const value = settings.get(name) ?? settings.get(`AzureWebJobs${name}`);
  if (value === undefined || value.trim() === '') {
    if (settings.get(`${name}__queueServiceUri`) !== undefined || settings.get(`${name}__serviceUri`) !== undefined) {
      throw new Error(`Connection '${name}' is identity-based; the local host needs a connection string`);
    }
    throw new Error(`Storage connection setting '${name}' is not set`);
  }
  if (/^\s*UseDevelopmentStorage\s*=\s*true/i.test(value)) {
    if (!developmentStorageConnectionString) {
      throw new Error(`Setting '${name}' is UseDevelopmentStorage=true but no local storage emulator is running`);
    }
    return developmentStorageConnectionString;
  }
  return value;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A received message's hidden-while-running lease; its pop receipt changes at each renewal. */
class MessageLease {
  popReceipt: string;
  private cancelTimer: (() => void) | undefined;
  private renewal: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly queue: QueueClient,
    private readonly message: DequeuedMessageItem,
    private readonly leaseMs: number,
    private readonly clock: Clock,
    private readonly log: HostLog,
  ) {
    this.popReceipt = message.popReceipt;
    this.schedule();
  }

  private schedule(): void {
    this.cancelTimer = this.clock.setTimer(this.leaseMs / 2, () => {
      this.renewal = this.renew();
    });
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    try {
      const res = await this.queue.updateMessage(this.message.messageId, this.popReceipt, undefined, Math.ceil(this.leaseMs / 1000));
      this.popReceipt = res.popReceipt ?? this.popReceipt;
    } catch (err) {
      this.log.warn(`Could not extend the lease of message ${this.message.messageId}: ${(err as Error).message}`);
    }
    if (!this.stopped) this.schedule();
  }

  /** Stops renewing and waits for a renewal under way, so popReceipt is final. */
  async release(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    await this.renewal;
  }
}

export class QueueTriggerListener implements TriggerListener {
  readonly queueName: string;
  readonly poisonQueueName: string;
  private readonly queue: QueueClient;
  private readonly poisonQueue: QueueClient;
  private readonly clock: Clock;
  private readonly leaseMs: number;
  private readonly batchSize: number;
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private cancelSleep: (() => void) | undefined;
  private poisonQueueReady: Promise<unknown> | undefined;
  private warnedAboutEncoding = false;

  constructor(private readonly opts: QueueTriggerOptions) {
    const trigger = opts.fn.trigger;
    if (typeof trigger.queueName !== 'string') {
      throw new Error(`Queue function '${opts.fn.name}': the trigger has no 'queueName' string`);
    }
    try {
      this.queueName = normalizeQueueName(opts.settings.resolve(trigger.queueName));
      const connectionString = resolveStorageConnection(
        opts.settings,
        typeof trigger.connection === 'string' ? trigger.connection : undefined,
        opts.developmentStorageConnectionString,
      );
      const service = QueueServiceClient.fromConnectionString(connectionString, PIPELINE_OPTIONS);
      this.poisonQueueName = `${this.queueName}-poison`;
      this.queue = service.getQueueClient(this.queueName);
      this.poisonQueue = service.getQueueClient(this.poisonQueueName);
    } catch (err) {
      throw new Error(`Queue function '${opts.fn.name}': ${(err as Error).message}`);
    }
    this.clock = opts.clock ?? realClock;
    this.leaseMs = Math.max(2_000, opts.messageLeaseMs ?? DEFAULT_LEASE_MS);
    this.batchSize = Math.min(Math.max(1, opts.queues.batchSize), MAX_RECEIVE_BATCH);
  }

  async start(): Promise<void> {
    if (this.running) throw new Error(`Queue function '${this.opts.fn.name}': listener already started`);
    await this.queue.createIfNotExists();
    this.running = true;
    this.loop = this.receiveLoop();
  }

  /** Stops receiving, then waits for the invocations under way (their messages are settled normally). */
  async stop(): Promise<void> {
    this.running = false;
    this.cancelSleep?.();
    this.wake?.();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  private async receiveLoop(): Promise<void> {
    let idleDelay = MIN_POLL_MS;
    while (this.running) {
      await this.untilRoomForABatch();
      if (!this.running) break;
      let messages: DequeuedMessageItem[];
      try {
        const res = await this.queue.receiveMessages({
          numberOfMessages: this.batchSize,
          visibilityTimeout: Math.ceil(this.leaseMs / 1000),
        });
        messages = res.receivedMessageItems;
      } catch (err) {
        this.opts.log.warn(`Queue '${this.queueName}': receive failed: ${(err as Error).message}`);
        messages = [];
      }
      if (messages.length === 0) {
        await this.sleep(idleDelay);
        idleDelay = Math.min(idleDelay * 2, Math.max(MIN_POLL_MS, this.opts.queues.maxPollingIntervalMs));
        continue;
      }
      idleDelay = MIN_POLL_MS;
      for (const message of messages) this.track(this.handle(message));
    }
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => {
      this.inFlight.delete(work);
      this.wake?.();
    });
  }

  private untilRoomForABatch(): Promise<void> {
    return new Promise<void>((resolve) => {
      const check = () => {
        if (!this.running || this.inFlight.size <= this.opts.queues.newBatchThreshold) {
          this.wake = undefined;
          resolve();
        } else {
          this.wake = check;
        }
      };
      check();
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (!this.running) return resolve();
      const cancel = this.clock.setTimer(ms, () => {
        this.cancelSleep = undefined;
        resolve();
      });
      this.cancelSleep = () => {
        cancel();
        this.cancelSleep = undefined;
        resolve();
      };
    });
  }

  private async handle(message: DequeuedMessageItem): Promise<void> {
    const { maxDequeueCount } = this.opts.queues;
    const lease = new MessageLease(this.queue, message, this.leaseMs, this.clock, this.opts.log);
    try {
      if (message.dequeueCount > maxDequeueCount) {
        await lease.release();
        await this.moveToPoison(message, lease.popReceipt);
        return;
      }
      const body = this.decode(message);
      let failure: unknown;
      let failed = false;
      try {
        await this.opts.invoke(this.opts.fn, { triggerData: { string: body }, triggerMetadata: triggerMetadata(message, body) });
      } catch (err) {
        failed = true;
        failure = err;
      }
      await lease.release();
      if (!failed) {
        await this.queue.deleteMessage(message.messageId, lease.popReceipt);
        return;
      }
      this.opts.log.warn(
        `Function '${this.opts.fn.name}' failed on message ${message.messageId} from '${this.queueName}' ` +
          `(dequeue count ${message.dequeueCount} of ${maxDequeueCount}): ${describe(failure)}`,
      );
      if (message.dequeueCount >= maxDequeueCount) {
        await this.moveToPoison(message, lease.popReceipt);
      } else {
        await this.queue.updateMessage(message.messageId, lease.popReceipt, undefined, Math.ceil(this.opts.queues.visibilityTimeoutMs / 1000));
      }
    } catch (err) {
      // Storage trouble while settling: the message reappears when its lease lapses.
      await lease.release();
      this.opts.log.error(`Queue '${this.queueName}': could not settle message ${message.messageId}: ${describe(err)}`);
    }
  }

  private async moveToPoison(message: DequeuedMessageItem, popReceipt: string): Promise<void> {
    this.opts.log.warn(
      `Message ${message.messageId} has reached MaxDequeueCount of ${this.opts.queues.maxDequeueCount}; ` +
        `moving it to queue '${this.poisonQueueName}'`,
    );
    this.poisonQueueReady ??= this.poisonQueue.createIfNotExists().catch((err: unknown) => {
      this.poisonQueueReady = undefined;
      throw err;
    });
    await this.poisonQueueReady;
    await this.poisonQueue.sendMessage(message.messageText);
    await this.queue.deleteMessage(message.messageId, popReceipt);
  }

  private decode(message: DequeuedMessageItem): string {
    const text = message.messageText;
    if (this.opts.queues.messageEncoding !== 'base64') return text;
    if (BASE64.test(text)) return Buffer.from(text, 'base64').toString('utf8');
    if (!this.warnedAboutEncoding) {
      this.warnedAboutEncoding = true;
      this.opts.log.warn(
        `Queue '${this.queueName}': message ${message.messageId} is not base64 (host.json messageEncoding is "base64"); ` +
          'passing it through as text. The Azure host would move such a message to the poison queue.',
      );
    }
    return text;
  }
}

function triggerMetadata(message: DequeuedMessageItem, body: string): Record<string, RpcTypedData> {
  const date = (d: Date | undefined) => ({ json: JSON.stringify(d ? d.toISOString() : null) });
  return {
    Id: { string: message.messageId },
    PopReceipt: { string: message.popReceipt },
    DequeueCount: { json: JSON.stringify(message.dequeueCount) },
    ExpirationTime: date(message.expiresOn),
    InsertionTime: date(message.insertedOn),
    NextVisibleTime: date(message.nextVisibleOn),
    QueueTrigger: { string: body },
  };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
