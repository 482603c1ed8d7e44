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

/**
 * An export reads the file through a memory map, given back and mapped again every eight pages
 * (docs/performance.md, "The export's reads through a memory map"). Through `pread` each 4 KB page
 * is a system call and a copy (a 4.9 KB document spans an overflow chain), a third of the export
 * thread's time; mapped, SQLite reads the pages where they lie. But every mapped page an export
 * touches counts in the process's RSS until it is unmapped: mapped for the whole export, streaming
 * 100,000 sessions would add their ~500 MB. SQLite unmaps when `mmap_size` changes between two
 * statements, so an export holds eight pages' worth mapped at most (8 MiB alone, about 700 KB each
 * for twelve sharing a reader). SQLite maps at most `SQLITE_MAX_MMAP_SIZE` (2 GB on Linux) of a
 * file and reads the rest as before. `SQLITE_EXPORT_MMAP=0` reads by `pread` (file systems where
 * mapping is unsafe; an I/O error under a map ends the process with SIGBUS instead of failing the export).
 */
const MAP_BYTES = 2 ** 31;
const PAGES_MAPPED = 8;

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
  private readonly mapped: boolean;
  private sinceMapped = 0;
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
    /** Through a memory map (above), unless the server was told not to (SQLITE_EXPORT_MMAP=0). */
    mapped = true,
  ) {
    try {
      this.first = this.statements('>=');
      this.next = this.statements('>');
      this.mapped = mapped;
      if (mapped) db.exec(`pragma mmap_size = ${MAP_BYTES}`);
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
    this.sinceMapped += docs.length;
    if (this.mapped && this.sinceMapped >= PAGES_MAPPED * this.pageBytes()) {
      // Between statements no page of the map is in use, so SQLite unmaps it (it would not
      // mid-statement). Each time a new statement: SQLite applies this pragma when it prepares it,
      // so a statement prepared once and run again would not.
      this.db.exec('pragma mmap_size = 0');
      this.db.exec(`pragma mmap_size = ${MAP_BYTES}`);
      this.sinceMapped = 0;
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
