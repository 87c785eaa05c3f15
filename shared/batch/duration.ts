// ISO 8601 durations as Batch uses them for maxWallClockTime and retentionTime.
//
// Accepted form: P[nW][nD][T[nH][nM][n[.f]S]], e.g. PT1H30M, P1DT2H, PT0.5S, P2W.
// Decisions:
// - Years and months are rejected: their length depends on a calendar date, and a time limit
//   must mean the same number of milliseconds whenever it is read.
// - Only the seconds component may carry a fraction (what Batch's own serializers emit).
//   Precision below a millisecond is truncated.
// - Negative durations are rejected.
// - "Unlimited": Batch reports an absent limit as .NET's TimeSpan.MaxValue,
//   P10675199DT2H48M5.4775807S. fnbatch stores the same string for an absent limit and treats
//   any duration of at least UNLIMITED_DURATION_MS as no limit; anything longer is rejected
//   (Batch cannot represent it either).

export const UNLIMITED_DURATION_ISO = 'P10675199DT2H48M5.4775807S';
/** TimeSpan.MaxValue in whole milliseconds. */
export const UNLIMITED_DURATION_MS = 922_337_203_685_477;

const MS_PER_SECOND = 1000;
const MS_PER_MINUTE = 60 * MS_PER_SECOND;
const MS_PER_HOUR = 60 * MS_PER_MINUTE;
const MS_PER_DAY = 24 * MS_PER_HOUR;
const MS_PER_WEEK = 7 * MS_PER_DAY;

const DURATION_PATTERN =
  /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d+))?S)?)?$/;

export type DurationParse = { ok: true; ms: number } | { ok: false; reason: string };

export function parseDuration(text: unknown): DurationParse {
  if (typeof text !== 'string') return { ok: false, reason: 'must be an ISO 8601 duration string such as PT1H30M' };
  if (text === UNLIMITED_DURATION_ISO) return { ok: true, ms: UNLIMITED_DURATION_MS };
  const upper = text.trim().toUpperCase();
  if (upper.startsWith('-')) return { ok: false, reason: 'must not be negative' };
  const match = DURATION_PATTERN.exec(upper);
  if (!match) {
    if (/^P(?:\d+Y|[^T]*\d+M)/.test(upper)) {
      return { ok: false, reason: 'years and months are not supported (their length depends on the calendar); use weeks, days, hours, minutes or seconds' };
    }
    return { ok: false, reason: 'must be an ISO 8601 duration such as PT1H30M, P1DT2H or PT0.5S' };
  }
  const [, weeks, days, hours, minutes, seconds, fraction] = match;
  if ([weeks, days, hours, minutes, seconds].every((part) => part === undefined)) {
    return { ok: false, reason: 'must specify at least one component, e.g. PT0S' };
  }
  if (upper.endsWith('T')) return { ok: false, reason: "has a 'T' with no time components after it" };
  const fractionMs = fraction === undefined ? 0 : Number(`${fraction}000`.slice(0, 3));
  const ms =
    num(weeks) * MS_PER_WEEK +
    num(days) * MS_PER_DAY +
    num(hours) * MS_PER_HOUR +
    num(minutes) * MS_PER_MINUTE +
    num(seconds) * MS_PER_SECOND +
    fractionMs;
  if (!Number.isSafeInteger(ms) || ms > UNLIMITED_DURATION_MS) {
    return { ok: false, reason: `exceeds the maximum duration ${UNLIMITED_DURATION_ISO}` };
  }
  return { ok: true, ms };
}

function num(part: string | undefined): number {
  return part === undefined ? 0 : Number(part);
}

/** Milliseconds of a duration known to be valid; throws on malformed input. */
export function durationToMs(text: string): number {
  const parsed = parseDuration(text);
  if (!parsed.ok) throw new RangeError(`Invalid duration '${text}': ${parsed.reason}`);
  return parsed.ms;
}

/** The canonical ISO 8601 form of a number of milliseconds (days, hours, minutes, seconds). */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`A duration cannot be ${ms} ms`);
  const whole = Math.floor(ms);
  if (whole >= UNLIMITED_DURATION_MS) return UNLIMITED_DURATION_ISO;
  const days = Math.floor(whole / MS_PER_DAY);
  let rest = whole - days * MS_PER_DAY;
  const hours = Math.floor(rest / MS_PER_HOUR);
  rest -= hours * MS_PER_HOUR;
  const minutes = Math.floor(rest / MS_PER_MINUTE);
  rest -= minutes * MS_PER_MINUTE;
  const seconds = Math.floor(rest / MS_PER_SECOND);
  const millis = rest - seconds * MS_PER_SECOND;

  let out = 'P';
  if (days > 0) out += `${days}D`;
  let time = '';
  if (hours > 0) time += `${hours}H`;
  if (minutes > 0) time += `${minutes}M`;
  if (millis > 0) time += `${seconds}.${String(millis).padStart(3, '0').replace(/0+$/, '')}S`;
  else if (seconds > 0) time += `${seconds}S`;
  if (time) out += `T${time}`;
  return out === 'P' ? 'PT0S' : out;
}

export function isUnlimitedDuration(ms: number): boolean {
  return ms >= UNLIMITED_DURATION_MS;
}

/** The canonical form of a valid duration string (e.g. "PT90M" becomes "PT1H30M"). */
export function normalizeDuration(text: string): string {
  return formatDuration(durationToMs(text));
}
