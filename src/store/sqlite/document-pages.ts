import type BetterSqlite3 from 'better-sqlite3';
import type { ExportWindow } from '../../export/window.js';

/**
 * Bytes a page of SQLite's export aims at when one export reads alone. Measured reading the 93.5 MB
 * of 20,000 seeded sessions (docs/performance.md, "Measuring the export"): 90 ms in 64 KB pages,
 * 60 ms in 256 KB, 50 ms in 1 MB, 60 ms again in 4 MB (the joined page no longer fits the CPU's
 * caches). Concurrent exports share it (export-reader.ts, export-worker.ts).
 */
export const SQLITE_PAGE_BYTES = 1024 * 1024;
/** The smallest page aimed at when many exports share one reader. */
const MIN_PAGE_BYTES = 64 * 1024;

/** Each of `exports` reading exports' share of one turn's reads. */
export const pageShare = (exports: number): number => Math.max(MIN_PAGE_BYTES, SQLITE_PAGE_BYTES / Math.max(1, exports));

/** A small first page gets the first bytes out at once. */
const FIRST_PAGE = 8;
const MAX_PAGE = 1000;

type Key = [axis: number, sessionId: string];

/** One page: its documents joined by commas (every page but the first starts with its comma). */
export interface DocumentPage {
  docs: Buffer;
  sessions: number;
}

/**
 * The stored documents of a window, in (org, axis, id) index order, a keyset page at a time inside
 * one read transaction on a connection of the export's own (one snapshot for the whole export).
 * SQLite joins each page into one BLOB, so a page is one Buffer: no per-document allocation, and no
 * byte decoded or re-encoded on the way to the socket. The page size follows the documents' size so
 * a page stays near its aim however large sessions are. Synchronous: read on the event loop
 * (export-reader.ts) or in an export thread (export-workers.ts). `close` ends the transaction by closing the connection.
 */
export class DocumentPages {
  private readonly first: ReturnType<DocumentPages['statements']>;
  private readonly next: ReturnType<DocumentPages['statements']>;
  private from: Key;
  private limit = FIRST_PAGE;
  private started = false;
  private done = false;

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly orgId: string,
    private readonly window: ExportWindow,
    /** Bytes the next page aims at, asked before each page. */
    private readonly pageBytes: () => number = () => SQLITE_PAGE_BYTES,
  ) {
    try {
      this.first = this.statements('>=');
      this.next = this.statements('>');
      db.exec('begin');
    } catch (error) {
      db.close();
      throw error;
    }
    // The first page starts at (from, ''): no text sorts before the empty string.
    this.from = [window.fromMs, ''];
  }

  /**
   * The lower bound is the row value alone, so the index search starts at the page (a separate
   * `axis >= from` would make every page scan from the window's start).
   */
  private statements(lower: '>=' | '>') {
    const axis = this.window.axis === 'meetingDate' ? 'meeting_date' : 'created_at';
    const where = `org_id = ? and (${axis}, session_id) ${lower} (?, ?) and ${axis} <= ?`;
    return {
      // Every page but the very first starts with its comma, so the chunks simply concatenate;
      // joined in SQLite, not by Buffer.concat, which would make a second 256 KB Buffer per page.
      // Without GROUP BY the aggregate takes the subquery's rows in its ORDER BY order (the
      // subquery has a LIMIT, so it is never flattened); an ORDER BY inside group_concat would sort
      // the page again in a temporary b-tree at half the speed. The parity tests hold the bytes.
      page: this.db.prepare<[string, number, string, number, number], { docs: Buffer | null; n: number }>(
        `select cast(${lower === '>' ? "',' || " : ''}group_concat(doc, ',') as blob) as docs, count(*) as n
         from (select doc from session_documents_full where ${where} order by ${axis}, session_id limit ?)`,
      ),
      // The page's last key, read from the index alone, is where the next page starts.
      lastKey: this.db
        .prepare<[string, number, string, number, number], Key>(
          `select ${axis}, session_id from session_documents where ${where} order by ${axis}, session_id limit 1 offset ?`,
        )
        .raw(),
    };
  }

  /** The next page, or null once the window is read. */
  read(): DocumentPage | null {
    if (this.done) return null;
    const statement = this.started ? this.next : this.first;
    this.started = true;
    const { from, limit, orgId, window } = this;
    const { docs, n } = statement.page.get(orgId, from[0], from[1], window.toMs, limit)!;
    if (docs === null) {
      this.done = true;
      return null;
    }
    if (n < limit) this.done = true;
    else {
      this.from = statement.lastKey.get(orgId, from[0], from[1], window.toMs, limit - 1)!;
      this.limit = Math.min(MAX_PAGE, Math.max(1, Math.round((this.pageBytes() * n) / docs.length)));
    }
    return { docs, sessions: n };
  }

  close(): void {
    this.done = true;
    if (this.db.open) this.db.close();
  }
}
