import { describe, expect, it } from 'vitest';
import { EventType, type HistoryEvent } from '../../local-host/durable/history.js';
import { replayHistory } from '../../local-host/durable/replay-history.js';
import { triggerValue, valueTriggerData } from '../../local-host/durable/trigger-data.js';

const at = (ms: number) => new Date(ms).toISOString();
const started = (ms: number): HistoryEvent => ({ EventType: EventType.OrchestratorStarted, EventId: -1, IsPlayed: true, Timestamp: at(ms) });
const raised = (ms: number): HistoryEvent => ({ EventType: EventType.EventRaised, EventId: -1, IsPlayed: true, Timestamp: at(ms), Name: 'e', Input: '1' });

describe('trigger data carrying a value', () => {
  it('reads as the JSON text the host would send, and hands the value itself to whoever asks', () => {
    const value = { history: [{ Timestamp: new Date(5) }], input: { a: 1 } };
    const data = valueTriggerData(value);
    expect(JSON.parse(data.json!)).toEqual({ history: [{ Timestamp: at(5) }], input: { a: 1 } });
    expect(data.string).toBeUndefined();
    expect(triggerValue(data)?.value).toBe(value);
    expect(triggerValue({ json: '{}' })).toBeUndefined();
    expect(triggerValue(undefined)).toBeUndefined();
  });
});

describe('replay history', () => {
  it('gives every event a Date and keeps everything else', () => {
    const committed = [started(1000), raised(2000)];
    const fresh = [{ ...started(3000), IsPlayed: false }];
    const history = replayHistory(committed, fresh);
    expect(history.map((e) => [e.EventType, e.Timestamp.getTime(), e.IsPlayed])).toEqual([
      [EventType.OrchestratorStarted, 1000, true],
      [EventType.EventRaised, 2000, true],
      [EventType.OrchestratorStarted, 3000, false],
    ]);
    expect(history[1]).toMatchObject({ Name: 'e', Input: '1' });
  });

  it('converts a committed event once, as the history grows', () => {
    const committed = [started(1000), raised(2000)];
    const first = replayHistory(committed, []);
    committed.push(raised(4000));
    const second = replayHistory(committed, []);
    expect(second[1]).toBe(first[1]);
    expect(second[2]!.Timestamp.getTime()).toBe(4000);
  });

  it('gives each replay its own OrchestratorStarted time, which the orchestration may change', () => {
    const committed = [started(1000)];
    const first = replayHistory(committed, []);
    first[0]!.Timestamp.setTime(0);
    expect(replayHistory(committed, [])[0]!.Timestamp.getTime()).toBe(1000);
  });
});
