import { MAX_STATS_WINDOW_DAYS, type StatsGroupBy, type StatsQuery } from '../contract/stats-schemas.js';
import type { TimeAxis } from '../contract/schemas.js';
import { windowOfDays } from '../export/window.js';
import type { StatsSelection } from '../store/store.js';

/** A stats request with its defaults filled in, as the answer repeats it. */
export interface StatsParameters {
  from: string;
  to: string;
  timeAxis: TimeAxis;
  groupBy: StatsGroupBy;
}

export type StatsRequestResult = { ok: true; parameters: StatsParameters; selection: StatsSelection } | { ok: false; error: string };

/**
 * The rules the query schema cannot express (the schema has already checked each parameter's
 * form): the window as the export's (whole UTC days, both ends inclusive) but up to 366 days, and
 * the defaults meetingDate and none.
 */
export function statsRequest(query: StatsQuery): StatsRequestResult {
  const parameters: StatsParameters = {
    from: query.from,
    to: query.to,
    timeAxis: query.timeAxis ?? 'meetingDate',
    groupBy: query.groupBy ?? 'none',
  };
  const window = windowOfDays(
    { startName: 'from', start: query.from, endName: 'to', end: query.to, maxDays: MAX_STATS_WINDOW_DAYS },
    parameters.timeAxis,
  );
  if (!window.ok) return window;
  return { ok: true, parameters, selection: { window: window.window, groupBy: parameters.groupBy } };
}
