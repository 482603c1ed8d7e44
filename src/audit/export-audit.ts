import type { Actor } from '../coaching/actor.js';
import type { ExportWindow } from '../export/window.js';
import { dayOf } from '../contract/dates.js';
import type { Store } from '../store/store.js';
import { auditEntry } from './audit.js';

export interface ExportTally {
  sessions: number;
  bytes: number;
  completed: boolean;
}

/**
 * Counts what an export sends and writes its audit entry when the stream ends, whether it ran
 * to the end or was cut (the client went away, the store failed): `completed` tells which.
 * The entry is written after the response, so it never delays or breaks the stream.
 */
export async function* auditedExport(
  pages: AsyncIterable<string[]>,
  toJson: (pages: AsyncIterable<string[]>) => AsyncIterable<string>,
  onEnd: (tally: ExportTally) => Promise<void>,
): AsyncGenerator<string> {
  const tally: ExportTally = { sessions: 0, bytes: 0, completed: false };
  async function* counted(): AsyncGenerator<string[]> {
    for await (const page of pages) {
      tally.sessions += page.length;
      yield page;
    }
  }
  try {
    for await (const chunk of toJson(counted())) {
      tally.bytes += Buffer.byteLength(chunk);
      yield chunk;
    }
    tally.completed = true;
  } finally {
    await onEnd(tally).catch(() => undefined);
  }
}

/** The export's audit entry: who, which window on which axis, how much was sent, and whether all of it. */
export function recordExport(store: Store, actor: Actor, window: ExportWindow, tally: ExportTally, now: number): Promise<void> {
  return store.writeAudit(
    actor.orgId,
    auditEntry(
      actor,
      'export',
      null,
      { startDate: dayOf(window.fromMs), endDate: dayOf(window.toMs), timeAxis: window.axis, sessions: tally.sessions, bytes: tally.bytes, completed: tally.completed },
      now,
    ),
  );
}
