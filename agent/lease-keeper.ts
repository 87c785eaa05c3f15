// Keeps a queue message invisible while its task is held, renewing the lease at half its period,
// so the message only reappears if this agent dies. Each renewal changes the pop receipt; the
// keeper always knows the current one for the final delete or give-back.
import { isQueueError } from '../shared/ports/errors.js';
import type { QueueMessage, WorkQueue } from '../shared/ports/work-queue.js';

export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private stopped = false;
  /** True once the queue said the receipt no longer names a live lease. */
  lost = false;

  constructor(
    private readonly queue: WorkQueue,
    private message: QueueMessage,
    private readonly leaseMs: number,
    private readonly log: (line: string) => void,
  ) {}

  get current(): QueueMessage {
    return this.message;
  }

  start(): this {
    this.schedule(this.leaseMs / 2);
    return this;
  }

  /** The same message received again (the lease had lapsed): carry on with its new receipt. */
  adopt(message: QueueMessage): void {
    this.message = message;
    this.lost = false;
    clearTimeout(this.timer);
    this.schedule(this.leaseMs / 2);
  }

  /** Stops renewing; the message reappears when the current lease ends. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.inFlight;
  }

  /** The task is finished with: remove the message. */
  async delete(): Promise<void> {
    await this.stop();
    try {
      await this.queue.delete(this.message);
    } catch (error) {
      if (!isQueueError(error, 'LeaseLost')) throw error;
      this.log(`message ${this.message.messageId} was no longer ours to delete`);
    }
  }

  /** Makes the message visible again at once, for another node to take. */
  async giveBack(): Promise<void> {
    await this.stop();
    if (this.lost) return;
    try {
      await this.queue.extendLease(this.message, 0);
    } catch (error) {
      if (!isQueueError(error, 'LeaseLost')) throw error;
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.inFlight = this.renew();
    }, delayMs);
  }

  private async renew(): Promise<void> {
    try {
      this.message = await this.queue.extendLease(this.message, this.leaseMs);
      this.schedule(this.leaseMs / 2);
    } catch (error) {
      if (isQueueError(error, 'LeaseLost')) {
        this.lost = true;
        this.log(`lost the lease on message ${this.message.messageId}; it may run elsewhere`);
        return;
      }
      // Transient: try again well before the lease runs out.
      this.log(`could not renew the lease on ${this.message.messageId}: ${(error as Error).message}`);
      this.schedule(Math.min(1000, this.leaseMs / 4));
    }
  }
}
