// Reports of one kind (claims, or task ends) that come while the agent already has calls of that
// kind out wait for one of them to return, then go together in one call to AGENT_ROUTES.reports.
// With a call free an item goes at once, so batching adds no delay; under load one round trip,
// one request and one event per job carry many tasks. Each item still gets its own answer or
// error, as if it had been sent alone. Claims and ends do not wait for each other: a slow end
// report must not hold up the claim of the next task.
import { MAX_REPORTS_PER_CALL, type ItemOutcome } from '../shared/agent-protocol.js';
import { ControlPlaneRejected, ControlPlaneUnavailable } from './control-plane-errors.js';

interface Waiting<Req, Res> {
  request: Req;
  resolve(answer: Res): void;
  reject(error: unknown): void;
}

/** Two calls out at once: one slow call does not stop the others. */
const CALLS_OUT = 2;

export class ReportBatcher<Req, Res> {
  private readonly waiting: Waiting<Req, Res>[] = [];
  private out = 0;
  /** A call is about to start: items handed over before it does join it. */
  private starting = false;

  /** `send` makes one call for the given items and answers with one outcome per item, in order. */
  constructor(private readonly send: (requests: Req[]) => Promise<ItemOutcome<Res>[] | undefined>) {}

  submit(request: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.waiting.push({ request, resolve, reject });
      if (this.starting || this.out >= CALLS_OUT) return;
      this.out++;
      this.starting = true;
      // Items handed over in the same turn of the event loop share the call.
      queueMicrotask(() => {
        this.starting = false;
        void this.drain();
      });
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.waiting.length) {
        const items = this.waiting.splice(0, MAX_REPORTS_PER_CALL);
        try {
          settle(items, await this.send(items.map((item) => item.request)));
        } catch (error) {
          for (const item of items) item.reject(error);
        }
      }
    } finally {
      this.out--;
    }
  }
}

function settle<Res>(items: Waiting<unknown, Res>[], outcomes: ItemOutcome<Res>[] | undefined): void {
  items.forEach((item, i) => {
    const outcome: unknown = Array.isArray(outcomes) ? outcomes[i] : undefined;
    if (outcome && typeof outcome === 'object' && 'ok' in outcome) return item.resolve((outcome as { ok: Res }).ok);
    item.reject(itemError(outcome));
  });
}

/** The error the item's single call would have raised. */
function itemError(outcome: unknown): Error {
  const failed = outcome as { status?: unknown; error?: { code?: unknown; message?: { value?: unknown } } } | undefined;
  const status = typeof failed?.status === 'number' ? failed.status : undefined;
  const message = `${String(failed?.error?.code ?? 'NoAnswer')}: ${String(failed?.error?.message?.value ?? 'the reports call gave no answer for this item')}`;
  if (status === undefined || status >= 500 || status === 429 || status === 408) return new ControlPlaneUnavailable(message);
  return new ControlPlaneRejected(status, message);
}
