// Parses the two date-time formats the article names for time(): W3C-DTF (the ISO 8601 profile
// at w3.org/TR/NOTE-datetime) and RFC 1123 (HTTP dates, .NET's "r" format). Written out rather
// than using Date.parse, whose accepted inputs vary between engines.

const W3C_DTF =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2}))?)?)?$/;

const RFC_1123 =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2})(?::(\d{2}))? (GMT|UT|UTC|Z|[+-]\d{4})$/;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** Milliseconds since the epoch, or undefined when the text is in neither format or names an impossible date. */
export function parseDateTime(text: string): number | undefined {
  const trimmed = text.trim();
  const w3c = W3C_DTF.exec(trimmed);
  if (w3c) {
    const [, year, month, day, hour, minute, second, fraction, zone] = w3c;
    const offsetMinutes = zone === undefined || zone === 'Z' ? 0 : zoneMinutes(zone.replace(':', ''));
    return build(
      Number(year),
      Number(month ?? 1),
      Number(day ?? 1),
      Number(hour ?? 0),
      Number(minute ?? 0),
      Number(second ?? 0),
      fraction === undefined ? 0 : Number(`0.${fraction}`) * 1000,
      offsetMinutes,
    );
  }
  const rfc = RFC_1123.exec(trimmed);
  if (rfc) {
    const [, weekday, day, month, year, hour, minute, second, zone] = rfc;
    const offsetMinutes = /^[+-]/.test(zone!) ? zoneMinutes(zone!) : 0;
    const ms = build(
      Number(year),
      MONTHS.indexOf(month!) + 1,
      Number(day),
      Number(hour),
      Number(minute),
      Number(second ?? 0),
      0,
      offsetMinutes,
    );
    if (ms === undefined) return undefined;
    // The weekday is redundant in RFC 1123; a wrong one means the text is not what it claims.
    const localDay = new Date(ms + offsetMinutes * 60_000).getUTCDay();
    return WEEKDAYS[localDay] === weekday ? ms : undefined;
  }
  return undefined;
}

function zoneMinutes(zone: string): number {
  const sign = zone.startsWith('-') ? -1 : 1;
  return sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5)));
}

function build(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms: number,
  offsetMinutes: number,
): number | undefined {
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  // setUTCFullYear, unlike Date.UTC, does not read years 0-99 as 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  // Dates roll over (31 February becomes 3 March); reject rather than silently move the date.
  if (date.getUTCDate() !== day) return undefined;
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime() + ms - offsetMinutes * 60_000;
}
