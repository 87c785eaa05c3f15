// What an autoscaled pool remembers between evaluations, kept in the pool document so a restart
// (or another instance of the app) carries on where the last one stopped: when the next timed
// evaluation is due, whether new work asked for one early, and the metric sample history the
// formula's GetSample calls read, bounded to SAMPLE_RETENTION_MS.
import { MetricHistory, METRIC_NAMES, SAMPLE_PERIOD_MS, type MetricName, type MetricReading } from '../autoscale/index.js';

/** One hour of 30-second samples: enough for the article's 15-minute and 180-second windows. */
export const SAMPLE_RETENTION_MS = 60 * 60_000;

/** Sample series as [timestamp, value] pairs, oldest first; compact because it lives in the pool document. */
export type PersistedSamples = Partial<Record<MetricName, [number, number][]>>;

export interface AutoScaleState {
  /** Epoch ms when the timer evaluates the formula next. */
  nextRunAt: number;
  /** Epoch ms of the newest evaluation, timed or requested. */
  lastRunAt?: number;
  /** Epoch ms of a request for an early evaluation that the debounce held back. */
  requestedAt?: number;
  /** Epoch ms of the newest metric reading stored in `samples`. */
  lastSampledAt?: number;
  samples: PersistedSamples;
}

export function initialAutoScaleState(now: number, previous?: AutoScaleState): AutoScaleState {
  // Re-enabling keeps the history: the pool's metrics did not stop existing.
  return { nextRunAt: now, samples: previous?.samples ?? {} };
}

/** The history as MetricHistory, ready for another reading. */
export function restoreHistory(samples: PersistedSamples | undefined): MetricHistory {
  const history = new MetricHistory({ periodMs: SAMPLE_PERIOD_MS, retentionMs: SAMPLE_RETENTION_MS });
  for (const name of METRIC_NAMES) {
    for (const [timestamp, value] of samples?.[name] ?? []) history.record(timestamp, { [name]: value });
  }
  return history;
}

export function persistHistory(history: MetricHistory, now: number): PersistedSamples {
  const since = now - SAMPLE_RETENTION_MS;
  const out: PersistedSamples = {};
  for (const name of METRIC_NAMES) {
    const series = history.samples(name, since);
    if (series.length) out[name] = series.map((s) => [s.timestamp, s.value]);
  }
  return out;
}

/** Adds one reading to the stored samples (the newest period's sample takes it in, as MetricHistory does). */
export function withReading(samples: PersistedSamples | undefined, now: number, reading: MetricReading): { history: MetricHistory; samples: PersistedSamples } {
  const history = restoreHistory(samples);
  history.record(now, reading);
  return { history, samples: persistHistory(history, now) };
}

/** True when `now` is in a later sample period than the newest reading. */
export function sampleDue(state: AutoScaleState | undefined, now: number): boolean {
  if (state?.lastSampledAt === undefined) return true;
  return Math.floor(now / SAMPLE_PERIOD_MS) > Math.floor(state.lastSampledAt / SAMPLE_PERIOD_MS);
}
