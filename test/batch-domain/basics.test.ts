import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BatchError,
  durationToMs,
  findCaseInsensitiveDuplicates,
  formatDuration,
  integerTaskIdValue,
  invalidPropertyValue,
  isValidBatchId,
  parseDuration,
  UNLIMITED_DURATION_ISO,
  UNLIMITED_DURATION_MS,
  CaseInsensitiveIdSet,
} from '../../shared/batch/index.js';

describe('errors', () => {
  it('renders Batch error bodies with named values', () => {
    const error = invalidPropertyValue('tasks[3].requiredSlots', 0, 'must be between 1 and 2147483647');
    expect(error).toBeInstanceOf(BatchError);
    expect(error.status).toBe(400);
    expect(error.body).toEqual({
      code: 'InvalidPropertyValue',
      message: { lang: 'en-US', value: 'The value provided for one of the properties in the request body is invalid.' },
      values: [
        { key: 'PropertyName', value: 'tasks[3].requiredSlots' },
        { key: 'PropertyValue', value: '0' },
        { key: 'Reason', value: 'must be between 1 and 2147483647' },
      ],
    });
    expect(error.valueFor('PropertyName')).toBe('tasks[3].requiredSlots');
  });
});

describe('ids', () => {
  it('accepts letters, digits, hyphens and underscores up to 64 characters', () => {
    expect(isValidBatchId('Task_1-a')).toBe(true);
    expect(isValidBatchId('a'.repeat(64))).toBe(true);
    expect(isValidBatchId('a'.repeat(65))).toBe(false);
    expect(isValidBatchId('')).toBe(false);
    expect(isValidBatchId('has space')).toBe(false);
    expect(isValidBatchId('dot.ted')).toBe(false);
    expect(isValidBatchId('ünïcode')).toBe(false);
    expect(isValidBatchId(42)).toBe(false);
  });

  it('finds duplicates case-insensitively, pointing at the first occurrence', () => {
    expect(findCaseInsensitiveDuplicates(['a', 'B', 'A', 'b', 'c'])).toEqual([
      { index: 2, id: 'A', firstIndex: 0 },
      { index: 3, id: 'b', firstIndex: 1 },
    ]);
    const set = new CaseInsensitiveIdSet(['Job1']);
    expect(set.has('JOB1')).toBe(true);
    expect(set.has('job2')).toBe(false);
  });

  it('reads integer task ids ignoring leading zeros', () => {
    expect(integerTaskIdValue('004')).toBe(4);
    expect(integerTaskIdValue('0')).toBe(0);
    expect(integerTaskIdValue('000')).toBe(0);
    expect(integerTaskIdValue('5flamingoes')).toBeUndefined();
    expect(integerTaskIdValue('-5')).toBeUndefined();
  });
});

describe('duration', () => {
  it('parses the ISO 8601 forms Batch uses', () => {
    expect(durationToMs('PT1H30M')).toBe(90 * 60_000);
    expect(durationToMs('P1DT2H')).toBe(26 * 3_600_000);
    expect(durationToMs('PT0.5S')).toBe(500);
    expect(durationToMs('P2W')).toBe(14 * 86_400_000);
    expect(durationToMs('PT0S')).toBe(0);
    expect(durationToMs('pt10m')).toBe(600_000);
    expect(durationToMs('PT1.2345S')).toBe(1234);
    expect(durationToMs(UNLIMITED_DURATION_ISO)).toBe(UNLIMITED_DURATION_MS);
  });

  it('rejects malformed durations with a reason', () => {
    for (const bad of ['', 'P', 'PT', 'P1DT', '1H', 'PT1.5M', 'PT-1S', '-PT1S', 'PT1H30', 'P1.5D', 'PTS', 'P1H']) {
      const parsed = parseDuration(bad);
      expect(parsed.ok, bad).toBe(false);
      if (!parsed.ok) expect(parsed.reason.length).toBeGreaterThan(5);
    }
    const months = parseDuration('P1M');
    expect(months.ok).toBe(false);
    if (!months.ok) expect(months.reason).toMatch(/months/);
    expect(parseDuration(3600).ok).toBe(false);
    const tooLong = parseDuration('P99999999D');
    expect(tooLong.ok).toBe(false);
  });

  it('formats canonically, with the unlimited sentinel for TimeSpan.MaxValue', () => {
    expect(formatDuration(90 * 60_000)).toBe('PT1H30M');
    expect(formatDuration(26 * 3_600_000 + 500)).toBe('P1DT2H0.5S');
    expect(formatDuration(0)).toBe('PT0S');
    expect(formatDuration(1)).toBe('PT0.001S');
    expect(formatDuration(UNLIMITED_DURATION_MS)).toBe(UNLIMITED_DURATION_ISO);
  });

  it('round-trips every millisecond count (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: UNLIMITED_DURATION_MS }), (ms) => {
        expect(durationToMs(formatDuration(ms))).toBe(ms);
      }),
      { numRuns: 2000 },
    );
  });

  it('normalizes any valid duration to a fixed point (property)', () => {
    const component = fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined });
    fc.assert(
      fc.property(component, component, component, component, component, fc.option(fc.integer({ min: 0, max: 999 }), { nil: undefined }), (w, d, h, m, s, frac) => {
        let text = 'P' + (w !== undefined ? `${w}W` : '') + (d !== undefined ? `${d}D` : '');
        const seconds = s !== undefined ? `${s}${frac !== undefined ? `.${String(frac).padStart(3, '0')}` : ''}S` : '';
        const time = (h !== undefined ? `${h}H` : '') + (m !== undefined ? `${m}M` : '') + seconds;
        if (time) text += `T${time}`;
        const parsed = parseDuration(text);
        if (text === 'P') {
          expect(parsed.ok).toBe(false);
          return;
        }
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) return;
        const expected = ((((w ?? 0) * 7 + (d ?? 0)) * 24 + (h ?? 0)) * 60 + (m ?? 0)) * 60_000 + (s ?? 0) * 1000 + (s !== undefined ? frac ?? 0 : 0);
        expect(parsed.ms).toBe(expected);
        const canonical = formatDuration(parsed.ms);
        expect(formatDuration(durationToMs(canonical))).toBe(canonical);
      }),
      { numRuns: 1000 },
    );
  });
});
