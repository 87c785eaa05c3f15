// Timer-trigger schedules as the Azure Functions host accepts them:
// - six-field NCRONTAB: "{second} {minute} {hour} {day} {month} {day-of-week}", each field `*`, a value,
//   a range `a-b`, a step `*/n`, `a-b/n` or `a/n` (a to the field's maximum), or a comma list of those;
//   month and day-of-week also take names (Jan/January, Mon/Monday; any prefix of at least three letters);
// - a TimeSpan ("00:05:00" = every five minutes from the previous occurrence).
//
// Semantics follow the NCrontab library the host uses:
// - day-of-month and day-of-week must BOTH match (unlike Vixie cron, which ORs them when both are restricted):
//   "0 0 0 13 * Fri" fires only on Friday the 13th;
// - day-of-week is 0-6 with Sunday = 0 (7 is rejected, as NCrontab does);
// - a day that a month lacks (31 in April, 29 in a common-year February) is skipped, not moved.
// All times are UTC. WEBSITE_TIME_ZONE (schedules in a named time zone) is out of scope.
import { parseTimeSpan } from '../host-json.js';

export interface Schedule {
  /** The next occurrence strictly after afterMs (epoch ms, UTC). */
  next(afterMs: number): number;
  /** The expression as given. */
  readonly expression: string;
  readonly kind: 'cron' | 'interval';
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
}

const FIELDS: FieldSpec[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'],
  },
  { name: 'day-of-week', min: 0, max: 6, names: ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] },
];

/** Allowed values of one field, indexed by value. */
type ValueSet = boolean[];

class FieldError extends Error {}

function parseValue(text: string, spec: FieldSpec): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < spec.min || n > spec.max) throw new FieldError(`${n} is out of range ${spec.min}-${spec.max}`);
    return n;
  }
  const lower = text.toLowerCase();
  if (spec.names && lower.length >= 3 && /^[a-z]+$/.test(lower)) {
    const index = spec.names.findIndex((n) => n.startsWith(lower));
    if (index >= 0) return index + spec.min;
  }
  const expected = spec.names ? `a number ${spec.min}-${spec.max} or a name such as ${capitalize(spec.names[1]!.slice(0, 3))}` : `a number ${spec.min}-${spec.max}`;
  throw new FieldError(`'${text}' is not ${expected}`);
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function parseField(text: string, spec: FieldSpec): ValueSet {
  const set: ValueSet = new Array(spec.max + 1).fill(false);
  for (const part of text.split(',')) {
    if (part === '') throw new FieldError('empty list element');
    const [rangeText, stepText, ...extra] = part.split('/');
    if (extra.length > 0) throw new FieldError(`'${part}' has more than one '/'`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) throw new FieldError(`step '${stepText}' must be a positive integer`);
      step = Number(stepText);
    }
    let first: number;
    let last: number;
    if (rangeText === '*') {
      first = spec.min;
      last = spec.max;
    } else if (rangeText!.includes('-')) {
      const [a, b, ...more] = rangeText!.split('-');
      if (more.length > 0 || a === '' || b === '') throw new FieldError(`'${rangeText}' is not a range a-b`);
      first = parseValue(a!, spec);
      last = parseValue(b!, spec);
      if (first > last) throw new FieldError(`range '${rangeText}' runs backwards`);
    } else {
      first = parseValue(rangeText!, spec);
      // "a/n" means from a to the field's maximum in steps of n.
      last = stepText === undefined ? first : spec.max;
    }
    for (let v = first; v <= last; v += step) set[v] = true;
  }
  return set;
}

/** Smallest allowed value >= from, or -1. */
function nextAllowed(set: ValueSet, from: number): number {
  for (let v = Math.max(0, from); v < set.length; v++) if (set[v]) return v;
  return -1;
}

function firstAllowed(set: ValueSet): number {
  return nextAllowed(set, 0);
}

const DAYS_IN_MONTH_MAX = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
// 400 Gregorian years repeat exactly, so a schedule with no occurrence within them has none at all.
const SEARCH_YEARS = 400;

class CronSchedule implements Schedule {
  readonly kind = 'cron' as const;
  constructor(
    readonly expression: string,
    private readonly seconds: ValueSet,
    private readonly minutes: ValueSet,
    private readonly hours: ValueSet,
    private readonly days: ValueSet,
    private readonly months: ValueSet,
    private readonly daysOfWeek: ValueSet,
  ) {}

  next(afterMs: number): number {
    // Whole seconds only: the first candidate is the first second boundary strictly after afterMs.
    let t = Math.floor(afterMs / 1000) * 1000 + 1000;
    const limitYear = new Date(t).getUTCFullYear() + SEARCH_YEARS;
    for (;;) {
      const d = new Date(t);
      const year = d.getUTCFullYear();
      if (year > limitYear) throw new Error(`Schedule '${this.expression}' has no occurrence after ${new Date(afterMs).toISOString()}`);
      const month = d.getUTCMonth() + 1;
      const day = d.getUTCDate();
      if (!this.months[month]) {
        const m = nextAllowed(this.months, month + 1);
        t = m < 0 ? Date.UTC(year + 1, firstAllowed(this.months) - 1, 1) : Date.UTC(year, m - 1, 1);
        continue;
      }
      if (!this.days[day] || !this.daysOfWeek[d.getUTCDay()]) {
        t = Date.UTC(year, month - 1, day + 1); // Date.UTC rolls over into the next month/year.
        continue;
      }
      const hour = d.getUTCHours();
      if (!this.hours[hour]) {
        const h = nextAllowed(this.hours, hour + 1);
        t = h < 0 ? Date.UTC(year, month - 1, day + 1) : Date.UTC(year, month - 1, day, h);
        continue;
      }
      const minute = d.getUTCMinutes();
      if (!this.minutes[minute]) {
        const m = nextAllowed(this.minutes, minute + 1);
        t = m < 0 ? Date.UTC(year, month - 1, day, hour + 1) : Date.UTC(year, month - 1, day, hour, m);
        continue;
      }
      const second = d.getUTCSeconds();
      if (!this.seconds[second]) {
        const s = nextAllowed(this.seconds, second + 1);
        t = s < 0 ? Date.UTC(year, month - 1, day, hour, minute + 1) : Date.UTC(year, month - 1, day, hour, minute, s);
        continue;
      }
      return t;
    }
  }
}

class IntervalSchedule implements Schedule {
  readonly kind = 'interval' as const;
  constructor(
    readonly expression: string,
    private readonly intervalMs: number,
  ) {}

  next(afterMs: number): number {
    return afterMs + this.intervalMs;
  }
}

export function parseSchedule(expr: string): Schedule {
  const trimmed = expr.trim();
  if (trimmed === '') throw new Error('Invalid schedule: the expression is empty');
  const tokens = trimmed.split(/\s+/);
  if (tokens.length === 1) return parseInterval(expr, trimmed);
  if (tokens.length !== 6) {
    const hint = tokens.length === 5 ? ' (the Azure host needs the seconds field too, e.g. "0 */5 * * * *")' : '';
    throw new Error(
      `Invalid schedule '${expr}': expected 6 fields {second} {minute} {hour} {day} {month} {day-of-week}, found ${tokens.length}${hint}`,
    );
  }
  const sets = tokens.map((token, i) => {
    const spec = FIELDS[i]!;
    try {
      return parseField(token, spec);
    } catch (err) {
      if (err instanceof FieldError) throw new Error(`Invalid schedule '${expr}': field ${i + 1} (${spec.name}) '${token}': ${err.message}`);
      throw err;
    }
  });
  const [seconds, minutes, hours, days, months, daysOfWeek] = sets as [ValueSet, ValueSet, ValueSet, ValueSet, ValueSet, ValueSet];
  const reachable = months.some((allowed, m) => allowed && nextAllowed(days, 1) <= DAYS_IN_MONTH_MAX[m - 1]!);
  if (!reachable) throw new Error(`Invalid schedule '${expr}': no selected month has the selected day(s)`);
  return new CronSchedule(expr, seconds, minutes, hours, days, months, daysOfWeek);
}

function parseInterval(expr: string, text: string): Schedule {
  let ms: number;
  try {
    ms = parseTimeSpan(text);
  } catch {
    throw new Error(`Invalid schedule '${expr}': neither a 6-field NCRONTAB expression nor a TimeSpan such as "00:05:00"`);
  }
  if (ms <= 0) throw new Error(`Invalid schedule '${expr}': a TimeSpan schedule must be positive`);
  return new IntervalSchedule(expr, ms);
}
