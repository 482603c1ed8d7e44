import { setImmediate as nextTurn } from 'node:timers/promises';
import type BetterSqlite3 from 'better-sqlite3';
import type { ExportWindow } from '../../export/window.js';
import type { ExportChunk } from '../store.js';

/**
 * Bytes gathered before each write: large enough that the per-chunk costs (a copy, a socket
 * write, a turn of the event loop) vanish, small enough that twelve exports at once stay flat.
 */
export const EXPORT_CHUNK_BYTES = 256 * 1024;
const COMMA = Buffer.from(',');

/**
 * The stored documents of a window, read in (org, axis, id) index order through a read-only
 * connection of its own by one statement, which is one snapshot. better-sqlite3 hands BLOBs over
 * as Buffers, so no byte is decoded or re-encoded on the way to the socket. Between chunks the
 * event loop turns, so other requests are served while an export runs. Stopping early closes the
 * statement and the connection.
 */
export async function* sqliteStoredDocuments(open: () => BetterSqlite3.Database, orgId: string, window: ExportWindow): AsyncGenerator<ExportChunk> {
  const axis = window.axis === 'meetingDate' ? 'meeting_date' : 'created_at';
  const db = open();
  try {
    const statement = db
      .prepare<[string, number, number], Buffer>(
        `select doc from session_documents where org_id = ? and ${axis} >= ? and ${axis} <= ? order by ${axis}, session_id`,
      )
      .pluck();
    const parts: Buffer[] = [];
    let size = 0;
    let first = true;
    let sessions = 0;
    for (const doc of statement.iterate(orgId, window.fromMs, window.toMs)) {
      // Every document but the very first follows a comma, so the chunks simply concatenate.
      if (!first) parts.push(COMMA);
      first = false;
      parts.push(doc);
      size += doc.length + 1;
      sessions++;
      if (size >= EXPORT_CHUNK_BYTES) {
        yield { data: Buffer.concat(parts), sessions };
        parts.length = 0;
        size = 0;
        sessions = 0;
        await nextTurn();
      }
    }
    if (parts.length > 0) yield { data: Buffer.concat(parts), sessions };
  } finally {
    db.close();
  }
}
