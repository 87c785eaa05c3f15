// Tells the control plane that messages this node gave back are on the pool's queues again, so
// its idle peers waiting on the work signal take them at once rather than at their next poll.
// Give-backs come in bursts (a node trimming what it holds, or shutting down): one call at a time
// serves them all, and a give-back that completes while a call is out gets a call after it, so no
// notice ever goes before the message it tells of is visible.
export class WorkReturnedNotices {
  private sending = false;
  private again = false;

  constructor(
    private readonly send: () => Promise<void>,
    private readonly log: (line: string) => void,
  ) {}

  /** A message was just made visible. Answers the calls' promise when this starts them, else undefined (a call already out covers it). */
  given(): Promise<void> | undefined {
    if (this.sending) {
      this.again = true;
      return undefined;
    }
    this.sending = true;
    return this.sendUntilCaughtUp();
  }

  private async sendUntilCaughtUp(): Promise<void> {
    try {
      do {
        this.again = false;
        // Peers still find the messages at their next poll: a failed notice is only later news.
        await this.send().catch((error: unknown) => this.log(`cannot tell the control plane of work given back: ${(error as Error).message}`));
      } while (this.again);
    } finally {
      this.sending = false;
    }
  }
}
