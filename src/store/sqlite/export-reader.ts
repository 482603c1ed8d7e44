import { setImmediate as nextTurn } from 'node:timers/promises';
import type BetterSqlite3 from 'better-sqlite3';
import type { ExportWindow } from '../../export/window.js';
import type { ExportChunk } from '../store.js';
import { ownedByExport } from '../../export/owned-chunks.js';
import { EXPORT_CHUNK_BYTES } from '../export-chunk.js';

/** The smallest page aimed at when many exports share the event loop. */
const MIN_PAGE_BYTES = 64 * 1024;
/**
 * SQLite exports streaming in this process. Their page reads are synchronous, so together they
 * aim at EXPORT_CHUNK_BYTES per turn of the event loop: one export alone reads at full speed,
 * twelve at once read smaller pages and other requests wait behind less.
 */
let streaming = 0;
/** A small first page gets the first bytes out at once. */
const FIRST_PAGE = 8;
const MAX_PAGE = 1000;

type Key = [axis: number, sessionId: string];

/**
 * The stored documents of a window, in (org, axis, id) index order, a keyset page at a time inside
 * one read transaction on a read-only connection of the export's own (one snapshot for the whole
 * export). SQLite joins each page into one BLOB, so a page is one Buffer: no per-document
 * allocation for the garbage collector and the allocator to catch up with when many exports run at
 * once, and no byte decoded or re-encoded on the way to the socket. The page size follows the
 * documents' size so a chunk stays near EXPORT_CHUNK_BYTES however large sessions are. Between
 * pages the event loop turns, so other requests are served while exports run. Stopping early closes
 * the connection, which ends the transaction.
 */
export async function* sqliteStoredDocuments(
  open: () => BetterSqlite3.Database,
  orgId: string,
  window: ExportWindow,
): AsyncGenerator<ExportChunk> {
  const axis = window.axis === 'meetingDate' ? 'meeting_date' : 'created_at';
  const db = open();
  streaming++;
  try {
    // The lower bound is the row value alone, so the index search starts at the page (a separate
    // `axis >= from` would make every page scan from the window's start). The first page starts at
    // (from, ''): no text sorts before the empty string.
    const statements = (lower: '>=' | '>') => {
      const where = `org_id = ? and (${axis}, session_id) ${lower} (?, ?) and ${axis} <= ?`;
      return {
        // Every page but the very first starts with its comma, so the chunks simply concatenate;
        // joined in SQLite, not by Buffer.concat, which would make a second 256 KB Buffer per page.
        // Without GROUP BY the aggregate takes the subquery's rows in its ORDER BY order (the
        // subquery has a LIMIT, so it is never flattened); an ORDER BY inside group_concat would sort
        // the page again in a temporary b-tree at half the speed. The parity tests hold the bytes.
        page: db.prepare<[string, number, string, number, number], { docs: Buffer | null; n: number }>(
          `select cast(${lower === '>' ? "',' || " : ''}group_concat(doc, ',') as blob) as docs, count(*) as n
           from (select doc from session_documents where ${where} order by ${axis}, session_id limit ?)`,
        ),
        // The page's last key, read from the index alone, is where the next page starts.
        lastKey: db
          .prepare<[string, number, string, number, number], Key>(
            `select ${axis}, session_id from session_documents where ${where} order by ${axis}, session_id limit 1 offset ?`,
          )
          .raw(),
      };
    };
    const first = statements('>=');
    const next = statements('>');
    db.exec('begin');
    let from: Key = [window.fromMs, ''];
    let limit = FIRST_PAGE;
    for (let statement = first; ; statement = next) {
      const { docs, n } = statement.page.get(orgId, from[0], from[1], window.toMs, limit)!;
      if (docs === null) break;
      // The writer may free the Buffer's memory once it is sent: nothing reads it after the yield.
      const pageLength = docs.length;
      yield { data: ownedByExport(docs), sessions: n };
      if (n < limit) break;
      from = statement.lastKey.get(orgId, from[0], from[1], window.toMs, limit - 1)!;
      const pageBytes = Math.max(MIN_PAGE_BYTES, EXPORT_CHUNK_BYTES / streaming);
      limit = Math.min(MAX_PAGE, Math.max(1, Math.round((pageBytes * n) / pageLength)));
      await nextTurn();
    }
  } finally {
    streaming--;
    db.close();
  }
}
