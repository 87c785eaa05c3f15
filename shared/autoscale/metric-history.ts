import type { MetricSample, MetricSource } from './samples.js';
import { SAMPLE_PERIOD_MS, type MetricName } from './vocabulary.js';

/** Values reported at one moment, e.g. from a node heartbeat or a task-count query. */
export type MetricReading = Partial<Record<MetricName, number>>;

export interface MetricHistoryOptions {
  /** Sample period; Batch uses 30 s. */
  periodMs?: number;
  /** How far back samples are kept; older ones are dropped. Default 24 hours. */
  retentionMs?: number;
}

// The article describes these as averages over the sample period; the rest are counts or
// running totals, for which the newest reading in a period is the sample.
const AVERAGED: ReadonlySet<MetricName> = new Set(['CPUPercent', 'MemoryBytes', 'DiskBytes']);

interface Bucket {
  timestamp: number;
  sum: number;
  readings: number;
  last: number;
}

/**
 * Turns irregular readings into Batch-style metric histories: one sample per 30-second period
 * (stamped with the period's start), kept for a bounded time so memory stays bounded however
 * long the pool lives.
 */
export class MetricHistory {
  private readonly periodMs: number;
  private readonly capacity: number;
  private readonly buckets = new Map<MetricName, Bucket[]>();

  constructor(options: MetricHistoryOptions = {}) {
    this.periodMs = options.periodMs ?? SAMPLE_PERIOD_MS;
    const retentionMs = options.retentionMs ?? 24 * 60 * 60 * 1000;
    if (!(this.periodMs > 0) || !(retentionMs >= this.periodMs)) {
      throw new RangeError('MetricHistory needs periodMs > 0 and retentionMs >= periodMs');
    }
    this.capacity = Math.ceil(retentionMs / this.periodMs);
  }

  /**
   * Adds the readings taken at `now`. Readings in the same period as the newest sample update
   * it; a reading older than the newest sample's period is ignored (clocks do not run back).
   * Non-finite values are ignored.
   */
  record(now: number, reading: MetricReading): void {
    const timestamp = Math.floor(now / this.periodMs) * this.periodMs;
    for (const [name, value] of Object.entries(reading) as [MetricName, number | undefined][]) {
      if (value === undefined || !Number.isFinite(value)) continue;
      let history = this.buckets.get(name);
      if (history === undefined) {
        history = [];
        this.buckets.set(name, history);
      }
      const newest = history[history.length - 1];
      if (newest !== undefined && newest.timestamp === timestamp) {
        newest.sum += value;
        newest.readings++;
        newest.last = value;
      } else if (newest === undefined || newest.timestamp < timestamp) {
        history.push({ timestamp, sum: value, readings: 1, last: value });
        if (history.length > this.capacity) history.splice(0, history.length - this.capacity);
      }
    }
  }

  /** Samples of `name` stamped at or after `sinceMs`, oldest first. */
  samples(name: MetricName, sinceMs = -Infinity): MetricSample[] {
    return (this.buckets.get(name) ?? [])
      .filter((bucket) => bucket.timestamp >= sinceMs)
      .map((bucket) => ({ timestamp: bucket.timestamp, value: this.valueOf(name, bucket) }));
  }

  /** The newest sample's value, or undefined before the first reading. */
  latest(name: MetricName): number | undefined {
    const history = this.buckets.get(name);
    const newest = history?.[history.length - 1];
    return newest === undefined ? undefined : this.valueOf(name, newest);
  }

  /** A snapshot for evaluateFormula; plain counts default to each metric's newest sample. */
  toSource(counts: MetricReading = {}): MetricSource {
    const samples: Partial<Record<MetricName, MetricSample[]>> = {};
    const latest: MetricReading = {};
    for (const name of this.buckets.keys()) {
      samples[name] = this.samples(name);
      latest[name] = this.latest(name);
    }
    return { samples, counts: { ...latest, ...counts }, samplePeriodMs: this.periodMs };
  }

  private valueOf(name: MetricName, bucket: Bucket): number {
    return AVERAGED.has(name) ? bucket.sum / bucket.readings : bucket.last;
  }
}

/** Task counts as Batch's metrics, with $PendingTasks = $ActiveTasks + $RunningTasks as the article defines it. */
export function taskCountReading(counts: {
  active: number;
  running: number;
  succeeded?: number;
  failed?: number;
}): MetricReading {
  const reading: MetricReading = {
    ActiveTasks: counts.active,
    RunningTasks: counts.running,
    PendingTasks: counts.active + counts.running,
  };
  if (counts.succeeded !== undefined) reading.SucceededTasks = counts.succeeded;
  if (counts.failed !== undefined) reading.FailedTasks = counts.failed;
  return reading;
}
