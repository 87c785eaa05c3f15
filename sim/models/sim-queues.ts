// The pools' Storage queues: the real MemoryWorkQueue on the virtual clock (at-least-once,
// visibility timeouts, redelivery with new pop receipts), shared by the control plane and the
// agents as the real service is. Sends from the control plane stop at a scheduling point and may
// be duplicated or delayed (a delay reorders messages), as the seed decides.
import type { Clock } from '../../local-host/contracts.js';
import { MemoryWorkQueue } from '../../shared/adapters/memory-work-queue.js';
import type { MessageLease, PeekedMessage, QueueMessage, SendOptions, WorkQueue } from '../../shared/ports/work-queue.js';
import type { Kernel, SimThread } from '../kernel.js';
import type { Prng } from '../prng.js';

export interface QueueFaults {
  /** Chance that a sent message is delivered twice. */
  duplicate: number;
  /** Chance that a sent message stays invisible for a while first (overtaken by later ones). */
  delay: number;
  maxDelayMs: number;
}

export const NO_QUEUE_FAULTS: QueueFaults = { duplicate: 0, delay: 0, maxDelayMs: 0 };

interface EntryView {
  visibleAt: number;
  expiresOn: number;
}

export class SimQueues {
  private readonly queues = new Map<string, MemoryWorkQueue>();

  constructor(
    private readonly clock: Clock,
    private readonly kernel: Kernel,
    private readonly prng: Prng,
    private readonly faults: QueueFaults,
    private readonly note: (line: string) => void,
  ) {}

  /** The queue itself, as an agent reaches it (its calls are part of the agent's step). */
  raw(name: string): MemoryWorkQueue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new MemoryWorkQueue(name, this.clock);
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** The queue as a control-plane thread reaches it. */
  forThread(name: string, thread: SimThread): WorkQueue {
    return new ThreadQueue(this.raw(name), thread, this);
  }

  /** The earliest time a message in the queue is or becomes visible, if it holds any. */
  nextVisibleAt(name: string): number | undefined {
    const queue = this.queues.get(name);
    if (!queue) return undefined;
    // MemoryWorkQueue keeps no public peek; the simulator reads its entries to know when an
    // agent's receive could find something, without receiving (which would change the queue).
    const entries = (queue as unknown as { entries: Map<string, EntryView> }).entries;
    const now = this.clock.now();
    let earliest: number | undefined;
    for (const e of entries.values()) {
      if (e.expiresOn <= now) continue;
      if (earliest === undefined || e.visibleAt < earliest) earliest = e.visibleAt;
    }
    return earliest;
  }

  /** Messages in every queue, visible or not. */
  totalMessages(): number {
    let n = 0;
    for (const queue of this.queues.values()) n += (queue as unknown as { entries: Map<string, EntryView> }).entries.size;
    return n;
  }

  /** @internal */
  async send(queue: MemoryWorkQueue, thread: SimThread, body: string, options?: SendOptions): Promise<{ messageId: string }> {
    await this.kernel.point(thread, `send to ${shortQueue(queue.name)}: ${describeBody(body)}`);
    let sendOptions = options;
    if (this.faults.delay > 0 && this.prng.chance(this.faults.delay)) {
      const delay = this.prng.between(1, this.faults.maxDelayMs);
      this.note(`fault: message ${describeBody(body)} delayed ${delay} ms`);
      sendOptions = { ...options, visibilityDelayMs: (options?.visibilityDelayMs ?? 0) + delay };
    }
    const sent = await queue.send(body, sendOptions);
    if (this.faults.duplicate > 0 && this.prng.chance(this.faults.duplicate)) {
      const delay = this.prng.between(0, this.faults.maxDelayMs);
      this.note(`fault: message ${describeBody(body)} duplicated (copy visible after ${delay} ms)`);
      await queue.send(body, { ...options, visibilityDelayMs: (options?.visibilityDelayMs ?? 0) + delay });
    }
    return sent;
  }

  /** @internal */
  async gate(thread: SimThread, label: string): Promise<void> {
    await this.kernel.point(thread, label);
  }
}

class ThreadQueue implements WorkQueue {
  readonly name: string;

  constructor(
    private readonly queue: MemoryWorkQueue,
    private readonly thread: SimThread,
    private readonly queues: SimQueues,
  ) {
    this.name = queue.name;
  }

  send(body: string, options?: SendOptions): Promise<{ messageId: string }> {
    return this.queues.send(this.queue, this.thread, body, options);
  }

  async receive(max: number, visibilityTimeoutMs: number): Promise<QueueMessage[]> {
    await this.queues.gate(this.thread, `receive from ${shortQueue(this.name)}`);
    return this.queue.receive(max, visibilityTimeoutMs);
  }

  async peek(max: number): Promise<PeekedMessage[]> {
    await this.queues.gate(this.thread, `peek ${shortQueue(this.name)}`);
    return this.queue.peek(max);
  }

  async extendLease(message: QueueMessage, visibilityTimeoutMs: number): Promise<QueueMessage> {
    await this.queues.gate(this.thread, `extend lease ${message.messageId}`);
    return this.queue.extendLease(message, visibilityTimeoutMs);
  }

  async delete(lease: MessageLease): Promise<void> {
    await this.queues.gate(this.thread, `delete ${lease.messageId}`);
    return this.queue.delete(lease);
  }

  async approximateCount(): Promise<number> {
    await this.queues.gate(this.thread, `count ${shortQueue(this.name)}`);
    return this.queue.approximateCount();
  }

  async clear(): Promise<void> {
    await this.queues.gate(this.thread, `clear ${shortQueue(this.name)}`);
    return this.queue.clear();
  }
}

export function shortQueue(name: string): string {
  return name.split('-').pop() ?? name;
}

/** A task message named by what matters in a trace: job/task and its dispatch. */
export function describeBody(body: string): string {
  try {
    const m = JSON.parse(body) as { jobId?: string; taskId?: string; dispatchId?: string };
    if (m.taskId) return `${m.jobId}/${m.taskId} [${m.dispatchId}]`;
  } catch {
    // not JSON: show it raw
  }
  return body.slice(0, 40);
}
