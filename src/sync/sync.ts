import { ExportApiError } from '../client/errors.js';
import { ExportClient, type ExportClientOptions } from '../client/export-client.js';
import type { DayWindow } from '../client/windows.js';
import { addDays, dayOf, daysBetween } from '../contract/dates.js';
import { TIME_AXES, type TimeAxis } from '../contract/time-axes.js';
import { precomputeDigests, type Mirror, type SyncState } from './mirror.js';
import { SyncError } from './sync-error.js';

export { SyncError };

export type SyncMode = 'feed' | 'fallback';

export interface SyncOptions {
  url: string;
  token: string;
  /** First day to backfill from when the server has no change feed (YYYY-MM-DD). */
  from?: string;
  /** Days re-exported on each run of the fallback, on both time axes. */
  lookbackDays: number;
  /** Sessions per feed page (1..1000). */
  pageSize?: number;
  /** Pacing, retries, clock and signal of the export client the sync speaks through. */
  client?: Omit<ExportClientOptions, 'baseUrl' | 'token' | 'onEvent'>;
  /** Today, for the fallback's windows (default: the client clock's day). */
  now?: () => number;
  onEvent?: (event: SyncEvent) => void;
}

export type SyncEvent =
  | { type: 'page'; mode: 'feed'; sessions: number; written: number; hasMore: boolean }
  | { type: 'page'; mode: 'fallback'; sessions: number; written: number; window: DayWindow; timeAxis: TimeAxis }
  | { type: 'fallback'; reason: string }
  | { type: 'retry'; delayMs: number; reason: string }
  | { type: 'bytes'; bytes: number };

export interface SyncSummary {
  mode: SyncMode;
  /** Sessions received from the server. */
  sessions: number;
  /** Of those, sessions whose document differed from the mirror's and were written. */
  written: number;
  pages: number;
  /** The feed cursor the mirror now stands at; null in the fallback, which has none. */
  cursor: string | null;
}

/** Sync stopped between pages because its signal fired; what was applied stays applied. */
export class SyncInterrupted extends Error {
  constructor(readonly summary: SyncSummary) {
    super('interrupted');
  }
}

const throughKey = (axis: TimeAxis) => `fallback.${axis}.through`;

/**
 * One pass: follows the change feed from the mirror's cursor until it has no more, applying each
 * page together with its cursor in one transaction; against a server without the feed (404),
 * re-exports windows instead. Safe to kill at any moment: a page is in the mirror with its cursor
 * or not at all, and applying a page twice writes the same rows.
 */
export async function syncOnce(mirror: Mirror, options: SyncOptions): Promise<SyncSummary> {
  const state = await mirror.readState();
  const url = new URL(options.url).toString();
  if (state.url !== undefined && state.url !== url) {
    throw new SyncError(`This mirror follows ${state.url}, not ${url}; sync another server into another target.`);
  }
  const client = new ExportClient({
    ...options.client,
    baseUrl: options.url,
    token: options.token,
    onEvent: (event) => {
      if (event.type === 'retry' || event.type === 'feed-retry')
        options.onEvent?.({ type: 'retry', delayMs: event.delayMs, reason: event.reason });
      if (event.type === 'bytes' || event.type === 'feed-bytes') options.onEvent?.({ type: 'bytes', bytes: event.bytes });
    },
  });
  const summary: SyncSummary = {
    mode: 'feed',
    sessions: 0,
    written: 0,
    pages: 0,
    cursor: state.mode === 'feed' ? (state.cursor ?? null) : null,
  };
  const signal = options.client?.signal;
  const limit = options.pageSize ?? 500;
  const fetchPage = (cursor: string | null) => {
    // Digests are worked out as soon as the page arrives, while the previous page is written.
    const request = client.changes(cursor, limit).then((page) => {
      precomputeDigests(page.sessions);
      return page;
    });
    // Awaited below, or abandoned when the run stops early; never an unhandled rejection.
    request.catch(() => undefined);
    return request;
  };
  let next = fetchPage(summary.cursor);
  for (;;) {
    if (signal?.aborted) throw new SyncInterrupted(summary);
    let page: Awaited<typeof next>;
    try {
      page = await next;
    } catch (error) {
      if (signal?.aborted) throw new SyncInterrupted(summary);
      if (error instanceof ExportApiError && error.status === 404 && summary.pages === 0) {
        options.onEvent?.({ type: 'fallback', reason: 'the server has no change feed (404); re-exporting windows through the export API' });
        return fallback(mirror, client, state, { ...options, url });
      }
      if (error instanceof ExportApiError && error.status === 400 && summary.cursor !== null) {
        throw new SyncError(
          `${error.message} The mirror's cursor was refused (another organization's token, the server's FEED_CURSOR_SECRET changed, ` +
            'or its database was restored from a backup older than the mirror); ' +
            "to start over, delete the row 'cursor' from coachport_sync_state: unchanged documents are not written again.",
        );
      }
      throw error;
    }
    // The next page is fetched while this one is written: its cursor is already known, and it is
    // applied only after this page and its cursor are committed.
    if (page.hasMore) next = fetchPage(page.cursor);
    const written = await mirror.apply(page.sessions, { url, mode: 'feed', cursor: page.cursor });
    summary.pages++;
    summary.sessions += page.sessions.length;
    summary.written += written;
    summary.cursor = page.cursor;
    options.onEvent?.({ type: 'page', mode: 'feed', sessions: page.sessions.length, written, hasMore: page.hasMore });
    if (!page.hasMore) return summary;
  }
}

/**
 * The days each axis is re-exported over. The first run backfills from `from`; later runs start
 * `lookbackDays` before the last day they completed, so a run after a long pause still covers the
 * pause. Meetings are often booked ahead, so the meeting axis also looks `lookbackDays` forward.
 */
export function fallbackRanges(
  state: SyncState,
  from: string,
  today: string,
  lookbackDays: number,
): Array<{ timeAxis: TimeAxis; from: string; to: string }> {
  return TIME_AXES.map((timeAxis) => {
    const through = state[throughKey(timeAxis)];
    let start = through === undefined ? from : addDays(through, -(lookbackDays - 1));
    if (daysBetween(from, start) < 0) start = from;
    const to = timeAxis === 'meetingDate' ? addDays(today, lookbackDays) : today;
    return { timeAxis, from: start, to };
  }).filter((range) => daysBetween(range.from, range.to) >= 0);
}

async function fallback(mirror: Mirror, client: ExportClient, state: SyncState, options: SyncOptions): Promise<SyncSummary> {
  const from = options.from ?? state['fallback.from'];
  if (from === undefined) {
    throw new SyncError(
      'The server has no change feed, so the mirror is filled through the export API: ' +
        'pass --from YYYY-MM-DD, the first day to backfill from.',
    );
  }
  const today = dayOf(options.now?.() ?? options.client?.clock?.now() ?? Date.now());
  const summary: SyncSummary = { mode: 'fallback', sessions: 0, written: 0, pages: 0, cursor: null };
  const signal = options.client?.signal;
  const through: SyncState = Object.fromEntries(
    TIME_AXES.filter((a) => state[throughKey(a)] !== undefined).map((a) => [throughKey(a), state[throughKey(a)]!]),
  );
  for (const range of fallbackRanges(state, from, today, options.lookbackDays)) {
    try {
      for await (const completed of client.exportWindows(range)) {
        // The day the axis is complete through only moves forward, and never past today: days
        // still to come are fetched again on the next run.
        const end = daysBetween(today, completed.window.endDate) > 0 ? today : completed.window.endDate;
        const previous = through[throughKey(range.timeAxis)];
        if (previous === undefined || daysBetween(previous, end) > 0) through[throughKey(range.timeAxis)] = end;
        const written = await mirror.apply(completed.sessions(), { url: options.url, mode: 'fallback', 'fallback.from': from, ...through });
        summary.pages++;
        summary.sessions += completed.count;
        summary.written += written;
        options.onEvent?.({
          type: 'page',
          mode: 'fallback',
          sessions: completed.count,
          written,
          window: completed.window,
          timeAxis: range.timeAxis,
        });
        if (signal?.aborted) throw new SyncInterrupted(summary);
      }
    } catch (error) {
      if (signal?.aborted && !(error instanceof SyncInterrupted)) throw new SyncInterrupted(summary);
      throw error;
    }
  }
  return summary;
}
