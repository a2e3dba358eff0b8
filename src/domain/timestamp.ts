/**
 * Timestamps as Qdrant reads them in a datetime range and in a payload: RFC 3339, and the same date and
 * time without a zone, read as UTC. Nothing else is a timestamp: the JavaScript date parser's other forms
 * ("06.03.2024", "March 6") depend on its heuristics and on the local time zone of the process.
 */

/**
 * Date, then optionally a time (`T`, `t` or a space between), then optionally a zone. Seconds and a
 * fraction are optional without a zone; a zone needs seconds (as in Qdrant's parser).
 */
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;

/** The forms `parseTimestamp` takes, for error messages. */
export const TIMESTAMP_FORMS =
  'an RFC 3339 timestamp such as 2024-06-03T10:00:00Z or 2024-06-03T12:00:00+02:00, or a date and time without a zone (2024-06-03T10:00:00, 2024-06-03 10:00, 2024-06-03), read as UTC';

const daysIn = (year: number, month: number): number =>
  month === 2
    ? year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
      ? 29
      : 28
    : [4, 6, 9, 11].includes(month)
      ? 30
      : 31;

/**
 * The instant a timestamp names, as epoch milliseconds (a fraction beyond milliseconds is cut), or
 * undefined when the text is not one of the forms above or names no real date or time.
 * @example parseTimestamp('2024-06-03T10:00:00') === Date.UTC(2024, 5, 3, 10)
 * @example parseTimestamp('06.03.2024') === undefined
 */
export function parseTimestamp(text: string): number | undefined {
  const m = TIMESTAMP.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, fraction, z, sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h ?? 0);
  const minute = Number(mi ?? 0);
  const second = Number(s ?? 0);
  const zoned = z !== undefined || sign !== undefined;
  if (zoned && s === undefined) return undefined;
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const offsetHours = Number(oh ?? 0);
  const offsetMinutes = Number(om ?? 0);
  if (offsetHours > 23 || offsetMinutes > 59) return undefined;
  const millis = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'));
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps the years 0 to 99 to 1900 to 1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millis);
  const offset = (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  return date.getTime() - offset;
}
