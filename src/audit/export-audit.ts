import type { Actor } from '../coaching/actor.js';
import type { ExportWindow } from '../export/window.js';
import { dayOf } from '../contract/dates.js';
import type { AuditRecord } from '../store/accounts-store.js';
import type { ExportChunk } from '../store/store.js';
import { auditEntry } from './audit.js';

export interface ExportTally {
  sessions: number;
  bytes: number;
  completed: boolean;
}

/**
 * Counts what an export sends and has its audit entry written when the stream ends, whether it ran
 * to the end or was cut (the client went away, the store failed): `completed` tells which. The
 * stream ends without waiting for the entry, so the response's last bytes (under gzip, its closing
 * bracket) are never held back by the write, which on SQLite may wait seconds for another process's
 * write lock; `onEnd` reports its own failures and is awaited by whoever must (the server's close).
 */
export async function* auditedExport(
  chunks: AsyncIterable<ExportChunk>,
  onEnd: (tally: ExportTally) => Promise<void>,
): AsyncGenerator<Buffer | string> {
  const tally: ExportTally = { sessions: 0, bytes: 0, completed: false };
  try {
    for await (const chunk of chunks) {
      tally.sessions += chunk.sessions;
      tally.bytes += Buffer.byteLength(chunk.data);
      yield chunk.data;
    }
    tally.completed = true;
  } finally {
    // onEnd reports its own failures (audit/unwritten.ts); nothing it does may break the stream's end.
    void Promise.resolve(tally)
      .then(onEnd)
      .catch(() => undefined);
  }
}

/** The export's audit entry: who, which window on which axis, how much was sent, and whether all of it. */
export function exportAuditEntry(actor: Actor, window: ExportWindow, tally: ExportTally, now: number): AuditRecord {
  return auditEntry(
    actor,
    'export',
    null,
    {
      startDate: dayOf(window.fromMs),
      endDate: dayOf(window.toMs),
      timeAxis: window.axis,
      sessions: tally.sessions,
      bytes: tally.bytes,
      completed: tally.completed,
    },
    now,
  );
}
