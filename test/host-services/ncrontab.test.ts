import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseSchedule } from '../../local-host/triggers/ncrontab.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

function occurrences(expr: string, fromIso: string, count: number): string[] {
  const schedule = parseSchedule(expr);
  const out: string[] = [];
  let t = at(fromIso);
  for (let i = 0; i < count; i++) {
    t = schedule.next(t);
    out.push(iso(t));
  }
  return out;
}

describe('parseSchedule: NCRONTAB', () => {
  it('every five minutes, strictly after the base time', () => {
    expect(occurrences('0 */5 * * * *', '2024-03-10T10:00:00.000Z', 3)).toEqual([
      '2024-03-10T10:05:00.000Z',
      '2024-03-10T10:10:00.000Z',
      '2024-03-10T10:15:00.000Z',
    ]);
    expect(occurrences('0 */5 * * * *', '2024-03-10T10:04:59.999Z', 1)).toEqual(['2024-03-10T10:05:00.000Z']);
  });

  it('every second', () => {
    expect(occurrences('* * * * * *', '2024-01-01T00:00:00.250Z', 2)).toEqual([
      '2024-01-01T00:00:01.000Z',
      '2024-01-01T00:00:02.000Z',
    ]);
  });

  it('the Azure documentation examples', () => {
    // Once at the top of every hour.
    expect(occurrences('0 0 * * * *', '2024-01-01T23:30:00Z', 2)).toEqual(['2024-01-02T00:00:00.000Z', '2024-01-02T01:00:00.000Z']);
    // Every two hours.
    expect(occurrences('0 0 */2 * * *', '2024-01-01T01:00:00Z', 2)).toEqual(['2024-01-01T02:00:00.000Z', '2024-01-01T04:00:00.000Z']);
    // Every hour from 9 AM to 5 PM.
    expect(occurrences('0 0 9-17 * * *', '2024-01-01T17:30:00Z', 1)).toEqual(['2024-01-02T09:00:00.000Z']);
    // 9:30 AM every day.
    expect(occurrences('0 30 9 * * *', '2024-01-01T09:30:00Z', 1)).toEqual(['2024-01-02T09:30:00.000Z']);
    // 9:30 AM every weekday (2024-01-05 is a Friday).
    expect(occurrences('0 30 9 * * 1-5', '2024-01-05T10:00:00Z', 1)).toEqual(['2024-01-08T09:30:00.000Z']);
    // 9:30 AM every weekday in January.
    expect(occurrences('0 30 9 * Jan Mon', '2024-01-29T10:00:00Z', 1)).toEqual(['2025-01-06T09:30:00.000Z']);
  });

  it('lists, ranges with steps, and a/n stepping to the field maximum', () => {
    expect(occurrences('5,10,15 0 0 * * *', '2024-01-01T00:00:07Z', 3)).toEqual([
      '2024-01-01T00:00:10.000Z',
      '2024-01-01T00:00:15.000Z',
      '2024-01-02T00:00:05.000Z',
    ]);
    expect(occurrences('0 1-10/3 0 * * *', '2024-01-01T00:00:00Z', 5)).toEqual([
      '2024-01-01T00:01:00.000Z',
      '2024-01-01T00:04:00.000Z',
      '2024-01-01T00:07:00.000Z',
      '2024-01-01T00:10:00.000Z',
      '2024-01-02T00:01:00.000Z',
    ]);
    expect(occurrences('0 0 20/2 * * *', '2024-01-01T00:00:00Z', 3)).toEqual([
      '2024-01-01T20:00:00.000Z',
      '2024-01-01T22:00:00.000Z',
      '2024-01-02T20:00:00.000Z',
    ]);
  });

  it('month and day names, case-insensitive, short or long', () => {
    const a = occurrences('0 0 12 1 mar-may,Nov *', '2024-01-01T00:00:00Z', 4);
    expect(a).toEqual(['2024-03-01T12:00:00.000Z', '2024-04-01T12:00:00.000Z', '2024-05-01T12:00:00.000Z', '2024-11-01T12:00:00.000Z']);
    expect(occurrences('0 0 0 * * SATURDAY,sun', '2024-01-01T00:00:00Z', 2)).toEqual(['2024-01-06T00:00:00.000Z', '2024-01-07T00:00:00.000Z']);
  });

  it('day-of-month AND day-of-week must both match (NCrontab), not either (Vixie cron)', () => {
    // Friday the 13th: in 2024 only September and December.
    expect(occurrences('0 0 0 13 * Fri', '2024-01-01T00:00:00Z', 2)).toEqual(['2024-09-13T00:00:00.000Z', '2024-12-13T00:00:00.000Z']);
    // With day-of-week "*", only the day of month matters.
    expect(occurrences('0 0 0 13 * *', '2024-01-01T00:00:00Z', 1)).toEqual(['2024-01-13T00:00:00.000Z']);
  });

  it('skips days a month does not have', () => {
    expect(occurrences('0 0 0 31 * *', '2024-01-31T00:00:00Z', 3)).toEqual([
      '2024-03-31T00:00:00.000Z',
      '2024-05-31T00:00:00.000Z',
      '2024-07-31T00:00:00.000Z',
    ]);
    expect(occurrences('0 0 0 15,31 * *', '2024-01-31T00:00:00Z', 3)).toEqual([
      '2024-02-15T00:00:00.000Z',
      '2024-03-15T00:00:00.000Z',
      '2024-03-31T00:00:00.000Z',
    ]);
  });

  it('February 29th only in leap years (2100 is not one, 2000 was)', () => {
    expect(occurrences('0 0 0 29 Feb *', '2021-01-01T00:00:00Z', 3)).toEqual([
      '2024-02-29T00:00:00.000Z',
      '2028-02-29T00:00:00.000Z',
      '2032-02-29T00:00:00.000Z',
    ]);
    expect(occurrences('0 0 0 29 2 *', '2096-03-01T00:00:00Z', 1)).toEqual(['2104-02-29T00:00:00.000Z']);
    expect(occurrences('0 0 0 29 2 *', '1997-01-01T00:00:00Z', 1)).toEqual(['2000-02-29T00:00:00.000Z']);
    // Feb 29th that is also a Monday: 2016, then 2044.
    expect(occurrences('0 0 0 29 2 Mon', '2016-03-01T00:00:00Z', 1)).toEqual(['2044-02-29T00:00:00.000Z']);
  });

  it('rolls over year ends', () => {
    expect(occurrences('59 59 23 31 12 *', '2024-12-31T23:59:59Z', 1)).toEqual(['2025-12-31T23:59:59.000Z']);
    expect(occurrences('0 0 0 1 1 *', '2024-12-31T23:59:59.999Z', 1)).toEqual(['2025-01-01T00:00:00.000Z']);
  });

  it('next is strictly after, increasing, and lands on a matching second (property)', () => {
    const schedule = parseSchedule('*/7 3-50/4 */5 * * Mon-Fri');
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2090, 0, 1) }), (after) => {
        const n = schedule.next(after);
        const d = new Date(n);
        expect(n).toBeGreaterThan(after);
        expect(n % 1000).toBe(0);
        expect(d.getUTCSeconds() % 7).toBe(0);
        expect(d.getUTCMinutes() >= 3 && (d.getUTCMinutes() - 3) % 4 === 0 && d.getUTCMinutes() <= 50).toBe(true);
        expect(d.getUTCHours() % 5).toBe(0);
        expect([1, 2, 3, 4, 5]).toContain(d.getUTCDay());
        // Nothing matches in between: stepping from one second after `after` reaches n first.
        expect(schedule.next(n - 1)).toBe(n);
      }),
      { numRuns: 300 },
    );
  });
});

describe('parseSchedule: TimeSpan', () => {
  it('"00:05:00" is every five minutes from the given time', () => {
    const s = parseSchedule('00:05:00');
    expect(s.kind).toBe('interval');
    expect(s.next(at('2024-01-01T00:00:01.5Z'))).toBe(at('2024-01-01T00:05:01.5Z'));
  });

  it('"1.00:00:00" is daily', () => {
    expect(parseSchedule('1.00:00:00').next(0)).toBe(86_400_000);
  });

  it('rejects zero', () => {
    expect(() => parseSchedule('00:00:00')).toThrow(/positive/);
  });
});

describe('parseSchedule: errors point at the bad field', () => {
  it.each([
    ['0 */5 * * *', /expected 6 fields.*found 5.*seconds field/],
    ['0 0 0 * * * *', /found 7/],
    ['0 60 * * * *', /field 2 \(minute\) '60': 60 is out of range 0-59/],
    ['0 0 24 * * *', /field 3 \(hour\)/],
    ['0 0 0 0 * *', /field 4 \(day\) '0'/],
    ['0 0 0 * 13 *', /field 5 \(month\)/],
    ['0 0 0 * Foo *', /field 5 \(month\) 'Foo'.*name such as Feb/],
    ['0 0 0 * * 7', /field 6 \(day-of-week\) '7': 7 is out of range 0-6/],
    ['0 0 0 * * Mo', /field 6 \(day-of-week\) 'Mo'/],
    ['*/0 * * * * *', /field 1 \(second\).*step/],
    ['0 10-5 * * * *', /field 2 \(minute\).*backwards/],
    ['0 1,,2 * * * *', /field 2 \(minute\).*empty/],
    ['0 0 0 31 Apr *', /no selected month has the selected day/],
    ['0 0 0 30 2 *', /no selected month/],
    ['every5minutes', /neither a 6-field NCRONTAB expression nor a TimeSpan/],
    ['   ', /empty/],
  ])('%j', (expr, message) => {
    expect(() => parseSchedule(expr)).toThrow(message);
  });
});
