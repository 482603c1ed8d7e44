/** A day in milliseconds: the UTC days the service counts in. */
export const DAY_MS = 86_400_000;

const DAY_FORM = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME_FORM = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

export function hasDayForm(value: string): boolean {
  return DAY_FORM.test(value);
}

/** Milliseconds at 00:00:00.000Z of a `YYYY-MM-DD` day, or null when it is not a real calendar day. */
export function dayStartMs(value: string): number | null {
  const match = DAY_FORM.exec(value);
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // setUTCFullYear, not Date.UTC, which reads the years 0 to 99 as 1900 to 1999.
  const date = new Date(0);
  const ms = date.setUTCFullYear(year, month - 1, day);
  // 2021-02-30 rolls over to March; a real day survives the round trip unchanged.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return null;
  }
  return ms;
}

export function isCalendarDay(value: string): boolean {
  return dayStartMs(value) !== null;
}

/** The `YYYY-MM-DD` UTC day of an instant. */
export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function addDays(day: string, days: number): string {
  const start = dayStartMs(day);
  if (start === null) throw new RangeError(`not a calendar day: ${day}`);
  return dayOf(start + days * DAY_MS);
}

export function daysBetween(from: string, to: string): number {
  const a = dayStartMs(from);
  const b = dayStartMs(to);
  if (a === null || b === null) throw new RangeError(`not a calendar day: ${a === null ? from : to}`);
  return Math.round((b - a) / DAY_MS);
}

export function endOfDayMs(day: string): number {
  const start = dayStartMs(day);
  if (start === null) throw new RangeError(`not a calendar day: ${day}`);
  return start + DAY_MS - 1;
}

/**
 * Milliseconds of an RFC 3339 date-time with a zone, or null when it is malformed or not a real
 * instant. Accepting offsets and any fraction is deliberate: imports from other systems vary, and
 * every accepted value is stored to the millisecond and written back as `Date.prototype.toJSON` does.
 */
export function parseDateTime(value: string): number | null {
  const canonical = canonicalMs(value);
  if (canonical !== undefined) return canonical;
  const match = DATE_TIME_FORM.exec(value);
  if (!match) return null;
  if (dayStartMs(`${match[1]}-${match[2]}-${match[3]}`) === null) return null;
  if (Number(match[4]) > 23 || Number(match[5]) > 59 || Number(match[6]) > 59) return null;
  const ms = Date.parse(value.toUpperCase().replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(ms) ? null : ms;
}

/**
 * The contract's own form (`Date.prototype.toJSON`: 24 characters, UTC, milliseconds), nearly every
 * instant an import reads, without the regular expression and around a cached day; the same answer
 * as the general path below. `undefined`: not that form, take the general path.
 */
function canonicalMs(value: string): number | null | undefined {
  if (value.length !== 24 || value[10] !== 'T' || value[13] !== ':' || value[16] !== ':' || value[19] !== '.' || value[23] !== 'Z') {
    return undefined;
  }
  const day = value.slice(0, 10);
  let start = parsedDays.get(day);
  if (start === undefined) {
    const parsed = dayStartMs(day);
    if (parsed === null) return null;
    if (parsedDays.size === DAYS_CACHED) parsedDays.clear();
    parsedDays.set(day, parsed);
    start = parsed;
  }
  const h = digits(value, 11, 2);
  const m = digits(value, 14, 2);
  const s = digits(value, 17, 2);
  const f = digits(value, 20, 3);
  if (h < 0 || m < 0 || s < 0 || f < 0) return undefined;
  if (h > 23 || m > 59 || s > 59) return null;
  return start + h * 3_600_000 + m * 60_000 + s * 1000 + f;
}

/** The days read lately: a document's instants fall on a few days, but rarely on one after another. */
const parsedDays = new Map<string, number>();
const DAYS_CACHED = 4096;

/** The decimal number of `count` ASCII digits at `at`, or -1. */
function digits(value: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** An instant as the contract writes it: `Date.prototype.toJSON`, UTC with milliseconds. */
export function isoString(ms: number): string {
  // Years 1970–9999 in whole milliseconds, formatted by hand around the day's cached prefix:
  // imports and renders write hundreds of thousands of instants, mostly a few days apart.
  if (!(ms >= 0 && ms < YEAR_10000_MS) || !Number.isInteger(ms)) return new Date(ms).toISOString();
  const day = Math.floor(ms / DAY_MS);
  let prefix = dayPrefixes.get(day);
  if (prefix === undefined) {
    prefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
    if (dayPrefixes.size === DAYS_CACHED) dayPrefixes.clear();
    dayPrefixes.set(day, prefix);
  }
  const t = ms - day * DAY_MS;
  const time = `${two(Math.floor(t / 3_600_000))}:${two(Math.floor(t / 60_000) % 60)}:${two(Math.floor(t / 1000) % 60)}`;
  return `${prefix}${time}.${three(t % 1000)}Z`;
}

const YEAR_10000_MS = 253_402_300_800_000;
/** The days written lately, each as its `YYYY-MM-DDT` prefix. */
const dayPrefixes = new Map<number, string>();
const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const three = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : isoString(ms);
}
