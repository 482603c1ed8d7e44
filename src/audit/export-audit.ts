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
 * Counts into `tally` what an export sends, and whether it ran to the end (`completed`) or was cut
 * (the client went away, the store failed, the server shut down). The audit entry is written from
 * the tally when the response closes (routes/export.ts), not when this stream ends: a cut stream
 * ends only after its reader has let go of the store, which can be after the server's close has
 * stopped waiting for entries; and the response's last bytes are never held back by the write.
 */
export async function* countedExport(chunks: AsyncIterable<ExportChunk>, tally: ExportTally): AsyncGenerator<Buffer | string> {
  for await (const chunk of chunks) {
    tally.sessions += chunk.sessions;
    tally.bytes += Buffer.byteLength(chunk.data);
    yield chunk.data;
  }
  tally.completed = true;
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
