import { describe, expect, it } from 'vitest';
import type { Clock, HostLog, InvokeRequest, RegisteredFunction } from '../../local-host/contracts.js';
import { TimerTriggerListener } from '../../local-host/triggers/timer-trigger.js';
import { loadAppSettings } from '../../local-host/settings.js';

/** A clock that only moves when the test says so; due timers run in time order. */
class FakeClock implements Clock {
  private timers: { due: number; seq: number; fn: () => void }[] = [];
  private seq = 0;
  readonly requestedDelays: number[] = [];
  constructor(private current: number) {}
  now(): number {
    return this.current;
  }
  setTimer(ms: number, fn: () => void): () => void {
    this.requestedDelays.push(ms);
    const timer = { due: this.current + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }
  get pending(): number {
    return this.timers.length;
  }
  async advanceTo(target: number): Promise<void> {
    for (;;) {
      await settle();
      const due = this.timers.filter((t) => t.due <= target).sort((a, b) => a.due - b.due || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.current = Math.max(this.current, due.due);
      due.fn();
    }
    this.current = Math.max(this.current, target);
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

const t = (iso: string) => Date.parse(iso);

interface TimerPayload {
  Schedule: { AdjustForDST: boolean };
  ScheduleStatus: { Last: string; Next: string; LastUpdated: string } | null;
  IsPastDue: boolean;
}

function timerFunction(trigger: Record<string, unknown>): RegisteredFunction {
  return {
    name: 'tick',
    metadata: { name: 'tick', bindings: {} },
    triggerName: 'timer',
    trigger: { type: 'timerTrigger', direction: 'in', ...trigger },
    handler: () => undefined,
  };
}

function recordingLog(): HostLog & { errors: string[] } {
  const errors: string[] = [];
  return { errors, info: () => undefined, warn: () => undefined, error: (m) => errors.push(m) };
}

const settings = loadAppSettings('/nonexistent-app-dir', { EveryTen: '*/10 * * * * *' });

function setup(trigger: Record<string, unknown>, start = '2024-05-01T00:00:03Z') {
  const clock = new FakeClock(t(start));
  const calls: { at: number; payload: TimerPayload }[] = [];
  let behaviour: (request: InvokeRequest) => Promise<void> = async () => undefined;
  const log = recordingLog();
  const listener = new TimerTriggerListener({
    fn: timerFunction(trigger),
    settings,
    log,
    clock,
    invoke: async (_fn, request) => {
      calls.push({ at: clock.now(), payload: JSON.parse(request.triggerData.json!) as TimerPayload });
      await behaviour(request);
      return { outputs: {} };
    },
  });
  return {
    clock,
    calls,
    log,
    listener,
    setBehaviour: (b: typeof behaviour) => {
      behaviour = b;
    },
  };
}

describe('TimerTriggerListener', () => {
  it('fires at each occurrence with the host payload', async () => {
    const { clock, calls, listener } = setup({ schedule: '%EveryTen%' });
    await listener.start();
    await clock.advanceTo(t('2024-05-01T00:00:35Z'));
    await listener.stop();

    expect(calls.map((c) => new Date(c.at).toISOString())).toEqual([
      '2024-05-01T00:00:10.000Z',
      '2024-05-01T00:00:20.000Z',
      '2024-05-01T00:00:30.000Z',
    ]);
    expect(calls[0]!.payload).toEqual({
      Schedule: { AdjustForDST: true },
      ScheduleStatus: { Last: '0001-01-01T00:00:00.000Z', Next: '2024-05-01T00:00:10.000Z', LastUpdated: '0001-01-01T00:00:00.000Z' },
      IsPastDue: false,
    });
    expect(calls[1]!.payload.ScheduleStatus).toEqual({
      Last: '2024-05-01T00:00:10.000Z',
      Next: '2024-05-01T00:00:20.000Z',
      LastUpdated: '2024-05-01T00:00:10.000Z',
    });
  });

  it('never overlaps: an occurrence due during a long run fires when the run ends', async () => {
    const { clock, calls, listener, setBehaviour } = setup({ schedule: '*/10 * * * * *' });
    let release!: () => void;
    let active = 0;
    let maxActive = 0;
    setBehaviour(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      if (calls.length === 1) await new Promise<void>((r) => (release = r));
      active--;
    });
    await listener.start();
    await clock.advanceTo(t('2024-05-01T00:00:47Z')); // first run starts at :10 and is still going
    expect(calls).toHaveLength(1);
    release();
    await clock.advanceTo(t('2024-05-01T00:00:47Z')); // :20 was due while running: fires now, once
    expect(calls.map((c) => new Date(c.at).toISOString())).toEqual(['2024-05-01T00:00:10.000Z', '2024-05-01T00:00:47.000Z']);
    await clock.advanceTo(t('2024-05-01T00:01:05Z'));
    await listener.stop();
    expect(calls.map((c) => new Date(c.at).toISOString()).slice(2)).toEqual(['2024-05-01T00:00:50.000Z', '2024-05-01T00:01:00.000Z']);
    expect(maxActive).toBe(1);
  });

  it('a failing invocation is logged and the schedule continues', async () => {
    const { clock, calls, listener, setBehaviour, log } = setup({ schedule: '*/10 * * * * *' });
    setBehaviour(async () => {
      if (calls.length === 1) throw new Error('boom');
    });
    await listener.start();
    await clock.advanceTo(t('2024-05-01T00:00:25Z'));
    await listener.stop();
    expect(calls).toHaveLength(2);
    expect(log.errors.join('\n')).toMatch(/tick.*boom/);
  });

  it('runOnStartup invokes at once, then follows the schedule', async () => {
    const { clock, calls, listener } = setup({ schedule: '0 0 * * * *', runOnStartup: true }, '2024-05-01T10:20:00Z');
    await listener.start();
    await clock.advanceTo(t('2024-05-01T10:20:00Z'));
    expect(calls.map((c) => new Date(c.at).toISOString())).toEqual(['2024-05-01T10:20:00.000Z']);
    await clock.advanceTo(t('2024-05-01T11:30:00Z'));
    await listener.stop();
    expect(calls.map((c) => new Date(c.at).toISOString())).toEqual(['2024-05-01T10:20:00.000Z', '2024-05-01T11:00:00.000Z']);
  });

  it('useMonitor false sends no schedule status', async () => {
    const { clock, calls, listener } = setup({ schedule: '*/10 * * * * *', useMonitor: false });
    await listener.start();
    await clock.advanceTo(t('2024-05-01T00:00:10Z'));
    await listener.stop();
    expect(calls[0]!.payload.ScheduleStatus).toBeNull();
  });

  it('TimeSpan schedules repeat from the previous occurrence', async () => {
    const { clock, calls, listener } = setup({ schedule: '00:05:00' }, '2024-05-01T00:00:01Z');
    await listener.start();
    await clock.advanceTo(t('2024-05-01T00:16:00Z'));
    await listener.stop();
    expect(calls.map((c) => new Date(c.at).toISOString())).toEqual([
      '2024-05-01T00:05:01.000Z',
      '2024-05-01T00:10:01.000Z',
      '2024-05-01T00:15:01.000Z',
    ]);
  });

  it('waits for months in hops the real timer can represent', async () => {
    const { clock, calls, listener } = setup({ schedule: '0 0 0 1 Jan *' });
    await listener.start();
    await clock.advanceTo(t('2025-01-01T00:00:00Z'));
    await listener.stop();
    expect(calls.map((c) => new Date(c.at).toISOString())).toEqual(['2025-01-01T00:00:00.000Z']);
    expect(Math.max(...clock.requestedDelays)).toBeLessThan(2 ** 31 - 1);
  });

  it('stop waits for the running invocation and nothing fires afterwards', async () => {
    const { clock, calls, listener, setBehaviour } = setup({ schedule: '*/10 * * * * *' });
    let release!: () => void;
    let finished = false;
    setBehaviour(async () => {
      await new Promise<void>((r) => (release = r));
      finished = true;
    });
    await listener.start();
    await clock.advanceTo(t('2024-05-01T00:00:10Z'));
    let stopped = false;
    const stopping = listener.stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(finished).toBe(true);
    expect(clock.pending).toBe(0);
    await clock.advanceTo(t('2024-05-01T00:10:00Z'));
    expect(calls).toHaveLength(1);
  });

  it('rejects a bad or missing schedule, naming the function', () => {
    expect(() => setup({ schedule: '0 */5 * * *' })).toThrow(/tick.*6 fields/);
    expect(() => setup({})).toThrow(/tick.*schedule/);
    expect(() => setup({ schedule: '%NoSuchSetting_q%' })).toThrow(/NoSuchSetting_q/);
  });
});
