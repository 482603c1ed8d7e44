import { Pacer, realClock } from '../../src/client/pacer.js';
import { planWindows, type DayWindow } from '../../src/client/windows.js';
import { TABLE_NAMES, TABLES, tableRows, type TableName as Table } from '../../src/client/tables.js';
import { csvRow } from '../../src/client/writers/csv-text.js';
import { ApiError, api } from './api';
import type { ExportSession, TimeAxis } from './types';

/**
 * The export in the browser, with the command-line client's own window plan and pacing: any range
 * split into windows of at most 90 days, one request per second and 30 per minute (the export
 * bucket's defaults), 429s waited out for their Retry-After, server and network failures retried
 * with back-off.
 */

export interface Progress {
  window: number;
  windows: number;
  sessions: number;
  waitingSeconds: number | null;
}

const MAX_FAILURES = 5;

export async function runExport(
  from: string,
  to: string,
  timeAxis: TimeAxis,
  onProgress: (p: Progress) => void,
  signal: AbortSignal,
): Promise<ExportSession[]> {
  const windows: DayWindow[] = planWindows(from, to);
  const pacer = new Pacer(realClock, 1, 30);
  const all: ExportSession[] = [];
  for (const [index, window] of windows.entries()) {
    let failures = 0;
    for (;;) {
      onProgress({ window: index + 1, windows: windows.length, sessions: all.length, waitingSeconds: null });
      await pacer.take(signal);
      try {
        all.push(...(await api.post<ExportSession[]>('/api/v1/coaching-sessions', { ...window, timeAxis }, { signal })));
        break;
      } catch (error) {
        if (!(error instanceof ApiError) || signal.aborted) throw error;
        const retryable = error.status === 429 || error.status === 0 || error.status >= 500;
        if (!retryable || (error.status !== 429 && ++failures >= MAX_FAILURES)) throw error;
        const waitMs = error.retryAfterSeconds !== null ? error.retryAfterSeconds * 1000 : Math.min(30_000, 500 * 2 ** failures);
        onProgress({ window: index + 1, windows: windows.length, sessions: all.length, waitingSeconds: Math.ceil(waitMs / 1000) });
        await pacer.holdFor(waitMs, signal);
      }
    }
  }
  onProgress({ window: windows.length, windows: windows.length, sessions: all.length, waitingSeconds: null });
  return all;
}

/** The same tables `coachport export --format csv` writes, one text per table. */
export function csvTables(sessions: ExportSession[]): Record<Table, string> {
  const rows = tableRows(sessions);
  return Object.fromEntries(
    TABLE_NAMES.map((table) => [table, csvRow(TABLES[table]) + rows[table].map((row) => csvRow(row)).join('')]),
  ) as Record<Table, string>;
}
