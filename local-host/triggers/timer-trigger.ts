// Timer trigger with the Azure host's scheduling rules:
// - the next occurrence is computed from when the current invocation started (or from when it was
//   scheduled, if it fired a little early), and only after the invocation finishes is the timer re-armed;
//   so invocations never overlap, and an occurrence that falls due during a long run fires as soon as
//   the run ends (occurrences missed in between are not queued up);
// - runOnStartup invokes once immediately at start;
// - a failing invocation is logged and the schedule carries on.
// Schedule status lives in memory only: unlike the host's useMonitor, it does not survive a restart, so
// IsPastDue (missed while the host was down) is always false here.
import type { AppSettings, Clock, HostLog, Invoker, RegisteredFunction, TriggerListener } from '../contracts.js';
import { realClock } from '../contracts.js';
import { parseSchedule, type Schedule } from './ncrontab.js';

export interface TimerTriggerOptions {
  fn: RegisteredFunction;
  invoke: Invoker;
  settings: AppSettings;
  log: HostLog;
  clock?: Clock;
}

interface ScheduleStatus {
  last: number;
  next: number;
  lastUpdated: number;
}

// The host's DateTime.MinValue (0001-01-01T00:00:00Z), reported as Last before the first run.
const NEVER = -62_135_596_800_000;
// Real timers overflow past 2^31-1 ms (~24.8 days); long waits are done in hops.
const MAX_TIMER_HOP_MS = 24 * 86_400_000;

export class TimerTriggerListener implements TriggerListener {
  private readonly schedule: Schedule;
  private readonly clock: Clock;
  private readonly useMonitor: boolean;
  private readonly runOnStartup: boolean;
  private status: ScheduleStatus | undefined;
  private cancelTimer: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private started = false;

  constructor(private readonly opts: TimerTriggerOptions) {
    const trigger = opts.fn.trigger;
    if (typeof trigger.schedule !== 'string') {
      throw new Error(`Timer function '${opts.fn.name}': the trigger has no 'schedule' string`);
    }
    const expression = opts.settings.resolve(trigger.schedule);
    try {
      this.schedule = parseSchedule(expression);
    } catch (err) {
      throw new Error(`Timer function '${opts.fn.name}': ${(err as Error).message}`);
    }
    this.clock = opts.clock ?? realClock;
    this.runOnStartup = trigger.runOnStartup === true;
    this.useMonitor = trigger.useMonitor !== false;
  }

  async start(): Promise<void> {
    if (this.started) throw new Error(`Timer function '${this.opts.fn.name}': listener already started`);
    this.started = true;
    const now = this.clock.now();
    this.status = { last: NEVER, next: this.schedule.next(now), lastUpdated: NEVER };
    this.opts.log.info(
      `Timer '${this.opts.fn.name}' schedule '${this.schedule.expression}' (UTC); next occurrence ${iso(this.status.next)}`,
    );
    if (this.runOnStartup) this.arm(0, () => this.fire({ runOnStartup: true }));
    else this.armForNext();
  }

  async stop(): Promise<void> {
    this.started = false;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    await this.running;
  }

  private arm(delayMs: number, action: () => void): void {
    this.cancelTimer = this.clock.setTimer(Math.max(0, delayMs), action);
  }

  private armForNext(): void {
    if (!this.started) return;
    const wait = this.status!.next - this.clock.now();
    if (wait > MAX_TIMER_HOP_MS) this.arm(MAX_TIMER_HOP_MS, () => this.armForNext());
    else this.arm(wait, () => this.fire({ runOnStartup: false }));
  }

  private fire(reason: { runOnStartup: boolean }): void {
    this.cancelTimer = undefined;
    if (!this.started) return;
    this.running = this.invokeOnce(reason).finally(() => {
      this.running = undefined;
      this.armForNext();
    });
  }

  private async invokeOnce({ runOnStartup }: { runOnStartup: boolean }): Promise<void> {
    const invokedAt = this.clock.now();
    const status = this.status!;
    const payload = {
      Schedule: { AdjustForDST: true },
      ScheduleStatus: this.useMonitor
        ? { Last: iso(status.last), Next: iso(status.next), LastUpdated: iso(status.lastUpdated) }
        : null,
      IsPastDue: false,
    };
    try {
      await this.opts.invoke(this.opts.fn, { triggerData: { json: JSON.stringify(payload) } });
    } catch (err) {
      this.opts.log.error(`Timer '${this.opts.fn.name}' invocation failed: ${(err as Error)?.message ?? String(err)}`);
    }
    // A timer that fires a hair early must not schedule the same occurrence twice.
    const basis = !runOnStartup && status.next > invokedAt ? status.next : invokedAt;
    this.status = { last: basis, next: this.schedule.next(basis), lastUpdated: basis };
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
