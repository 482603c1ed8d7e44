import { dayStartMs, daysBetween, endOfDayMs } from '../contract/dates.js';
import { MAX_WINDOW_DAYS, type ExportRequest, type TimeAxis } from '../contract/schemas.js';

/** The instants an export covers: whole UTC days, both ends inclusive, to the millisecond. */
export interface ExportWindow {
  axis: TimeAxis;
  fromMs: number;
  toMs: number;
}

export type WindowResult = { ok: true; window: ExportWindow } | { ok: false; error: string };

/** The rules the schema cannot express: order of the two days and the span between them. */
export function exportWindow(request: ExportRequest): WindowResult {
  const { startDate, endDate, timeAxis } = request;
  if (dayStartMs(startDate) === null || dayStartMs(endDate) === null) {
    return { ok: false, error: 'startDate and endDate must be real calendar days in YYYY-MM-DD form.' };
  }
  const span = daysBetween(startDate, endDate);
  if (span < 0) {
    return { ok: false, error: `endDate ${endDate} is before startDate ${startDate}.` };
  }
  if (span > MAX_WINDOW_DAYS) {
    return {
      ok: false,
      error: `endDate must be at most ${MAX_WINDOW_DAYS} days after startDate, and ${startDate} to ${endDate} is ${span} days.`,
    };
  }
  return { ok: true, window: { axis: timeAxis, fromMs: dayStartMs(startDate)!, toMs: endOfDayMs(endDate) } };
}
