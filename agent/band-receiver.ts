// Takes the next task message for a pool, from the highest priority band that has one. Poison
// messages are moved to `<queue>-poison` as they are met and remembered for the next heartbeat.
import type { QueueServiceClient } from '@azure/storage-queue';
import { PRIORITY_BANDS, poolQueueName, type PriorityBand, type TaskMessage } from '../shared/agent-protocol.js';
import { CountingWorkQueue } from '../shared/adapters/counting-work-queue.js';
import type { RequestCounter } from '../shared/adapters/request-counter.js';
import { StorageQueueWorkQueue } from '../shared/adapters/storage-queue-work-queue.js';
import type { PeekedMessage, QueueMessage, WorkQueue } from '../shared/ports/work-queue.js';
import { parseTaskMessage } from './task-message.js';

export interface ReceivedTask {
  band: PriorityBand;
  queue: WorkQueue;
  message: QueueMessage;
  task: TaskMessage;
}

export interface PoisonReport {
  queue: string;
  messageId: string;
  reason: string;
}

/** Storage queues hand out at most this many messages per receive. */
export const MAX_RECEIVE = 32;

/** How long a busy node goes without looking at higher bands that were empty. */
export const HIGHER_BAND_RECHECK_MS = 250;

export function poisonQueueName(queueName: string): string {
  return `${queueName}-poison`;
}

export class BandReceiver {
  private poisoned: PoisonReport[] = [];
  /** The band below the top that yielded the last receive's work, while the bands above were empty. */
  private busyBand: number | undefined;
  private higherEmptyAt = 0;
  private poisonQueues = new Map<string, Promise<WorkQueue>>();

  private constructor(
    private readonly service: QueueServiceClient,
    private readonly bands: { band: PriorityBand; queue: WorkQueue }[],
    private readonly log: (line: string) => void,
    private readonly recheckMs: number,
    private readonly requests: RequestCounter | undefined,
  ) {}

  /** With `requests`, every queue call is counted there ("queue.receive", ...). */
  static async open(
    service: QueueServiceClient,
    poolId: string,
    log: (line: string) => void,
    recheckMs = HIGHER_BAND_RECHECK_MS,
    requests?: RequestCounter,
  ): Promise<BandReceiver> {
    const bands = await Promise.all(
      PRIORITY_BANDS.map(async (band) => ({ band, queue: await openQueue(service, poolQueueName(poolId, band), requests) })),
    );
    return new BandReceiver(service, bands, log, recheckMs, requests);
  }

  /** The next valid task message, leased for `leaseMs`, or undefined when every band is empty. */
  async receiveNext(leaseMs: number): Promise<ReceivedTask | undefined> {
    return (await this.receiveUpTo(1, leaseMs))[0];
  }

  /**
   * Up to `max` tasks from the highest band that has any: one queue call fetches a batch, so a
   * node with many free slots fills them without a round trip per task.
   *
   * While a lower band keeps yielding work, the empty bands above it are looked at again only
   * every `recheckMs`, not before every receive: a busy node would otherwise spend a queue request
   * (and its round trip) per receive on each empty higher band. Work arriving there waits at most
   * that long for its precedence.
   */
  async receiveUpTo(max: number, leaseMs: number): Promise<ReceivedTask[]> {
    const now = Date.now();
    const from = this.busyBand !== undefined && now - this.higherEmptyAt < this.recheckMs ? this.busyBand : 0;
    for (let b = from; b < this.bands.length; b++) {
      const { band, queue } = this.bands[b]!;
      // A band keeps its precedence even when its head is poison: move it and look again.
      for (;;) {
        const messages = await queue.receive(Math.min(Math.max(1, max), MAX_RECEIVE), leaseMs);
        if (messages.length === 0) break;
        const tasks: ReceivedTask[] = [];
        for (const message of messages) {
          const parsed = parseTaskMessage(message.body);
          if (parsed.ok) tasks.push({ band, queue, message, task: parsed.task });
          else await this.moveToPoison(queue, message, parsed.reason);
        }
        if (tasks.length) {
          // Every band above this one was empty just now (unless they were skipped as such).
          if (b > 0 && from === 0) this.higherEmptyAt = now;
          this.busyBand = b > 0 ? b : undefined;
          return tasks;
        }
      }
    }
    this.busyBand = undefined;
    return [];
  }

  /**
   * Up to `count` messages at the front of the highest band that has any, looked at without
   * taking them (a peek per band, top first); none when every band is empty.
   */
  async front(count = 1): Promise<PeekedMessage[]> {
    for (const { queue } of this.bands) {
      const first = await queue.peek(count);
      if (first.length > 0) return first;
    }
    return [];
  }

  /** Poison reports since the last call whose heartbeat went through. */
  pendingPoisonReports(): PoisonReport[] {
    return [...this.poisoned];
  }

  acknowledgePoisonReports(count: number): void {
    this.poisoned.splice(0, count);
  }

  private async moveToPoison(queue: WorkQueue, message: QueueMessage, reason: string): Promise<void> {
    const name = poisonQueueName(queue.name);
    let poison = this.poisonQueues.get(name);
    if (!poison) {
      poison = openQueue(this.service, name, this.requests);
      this.poisonQueues.set(name, poison);
      poison.catch(() => this.poisonQueues.delete(name));
    }
    await (await poison).send(message.body);
    await queue.delete(message);
    this.poisoned.push({ queue: queue.name, messageId: message.messageId, reason });
    this.log(`moved poison message ${message.messageId} from ${queue.name} to ${name}: ${reason}`);
  }
}

async function openQueue(service: QueueServiceClient, name: string, requests: RequestCounter | undefined): Promise<WorkQueue> {
  const queue = await StorageQueueWorkQueue.fromService(service, name);
  return requests ? new CountingWorkQueue(queue, requests, 'queue') : queue;
}
