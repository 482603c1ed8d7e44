import { dayStartMs, daysBetween, endOfDayMs } from '../contract/dates.js';
import { MAX_WINDOW_DAYS, type ExportRequest, type TimeAxis } from '../contract/schemas.js';

/** The instants an export covers: whole UTC days, both ends inclusive, to the millisecond. */
export interface ExportWindow {
  axis: TimeAxis;
  fromMs: number;
  toMs: number;
}

export type WindowResult = { ok: true; window: ExportWindow } | { ok: false; error: string };

/** Two days as a request names them, and how far apart they may be. */
export interface DaySpan {
  startName: string;
  start: string;
  endName: string;
  end: string;
  maxDays: number;
}

/**
 * The rules a schema cannot express, for any endpoint that takes a window of days: order of the
 * two days and the span between them (`end - start` in days, as the export counts it).
 */
export function windowOfDays(span: DaySpan, axis: TimeAxis): WindowResult {
  const { startName, start, endName, end, maxDays } = span;
  if (dayStartMs(start) === null || dayStartMs(end) === null) {
    return { ok: false, error: `${startName} and ${endName} must be real calendar days in YYYY-MM-DD form.` };
  }
  const days = daysBetween(start, end);
  if (days < 0) {
    return { ok: false, error: `${endName} ${end} is before ${startName} ${start}.` };
  }
  if (days > maxDays) {
    return {
      ok: false,
      error: `${endName} must be at most ${maxDays} days after ${startName}, and ${start} to ${end} is ${days} days.`,
    };
  }
  return { ok: true, window: { axis, fromMs: dayStartMs(start)!, toMs: endOfDayMs(end) } };
}

/** The export's window: at most 90 days. */
export function exportWindow(request: ExportRequest): WindowResult {
  return windowOfDays(
    { startName: 'startDate', start: request.startDate, endName: 'endDate', end: request.endDate, maxDays: MAX_WINDOW_DAYS },
    request.timeAxis,
  );
}
