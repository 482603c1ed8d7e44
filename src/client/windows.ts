import { addDays, daysBetween, isCalendarDay } from '../contract/dates.js';

export interface DayWindow {
  startDate: string;
  endDate: string;
}

/**
 * Consecutive windows covering `from`..`to` (inclusive days) with no gap and no overlap, each at
 * most `maxDays` days long counting both ends. 90 such days is within the contract's limit however
 * a server reads "90 days", which is why the default is not 91.
 */
export function planWindows(from: string, to: string, maxDays = 90): DayWindow[] {
  if (!isCalendarDay(from)) throw new RangeError(`from must be a calendar day in YYYY-MM-DD form, not "${from}".`);
  if (!isCalendarDay(to)) throw new RangeError(`to must be a calendar day in YYYY-MM-DD form, not "${to}".`);
  if (daysBetween(from, to) < 0) throw new RangeError(`to (${to}) is before from (${from}).`);
  const windows: DayWindow[] = [];
  let start = from;
  while (daysBetween(start, to) >= 0) {
    const end = daysBetween(start, to) < maxDays ? to : addDays(start, maxDays - 1);
    windows.push({ startDate: start, endDate: end });
    start = addDays(end, 1);
  }
  return windows;
}
