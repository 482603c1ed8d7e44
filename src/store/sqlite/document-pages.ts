import type BetterSqlite3 from 'better-sqlite3';
import { DAY_MS } from '../../contract/dates.js';
import type { ExportWindow } from '../../export/window.js';
import { type DayFilesGone, pagesDirOf, partFileName, readPartFile } from './day-page-files.js';
import { preparedOn, type ReadConnections } from './read-connections.js';

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
 * An export reads the file by `pread`, through SQLite's page cache, unless the server was told to map
 * it (`SQLITE_EXPORT_MMAP=1`; docs/performance.md, "The export's reads"). Mapped, SQLite reads the
 * pages where they lie, given back and mapped again every eight pages: every mapped page an export
 * touches counts in the process's RSS until it is unmapped (mapped for the whole export, streaming
 * 100,000 sessions would add their ~500 MB), and SQLite unmaps when `mmap_size` changes between two
 * statements, so an export holds eight pages' worth mapped at most (8 MiB alone, about 700 KB each
 * for twelve sharing a reader). SQLite maps at most `SQLITE_MAX_MMAP_SIZE` (2 GB on Linux) of a
 * file and reads the rest as before. The map was the default before the days were kept joined and
 * the server's malloc was tuned (cli/tuned-process.ts); since, faulting the mapped pages in and
 * unmapping them cost the export thread more than `pread` does, and under a map an I/O error on the
 * file ends the process with SIGBUS instead of failing the export.
 */
const MAP_BYTES = 2 ** 31;
const PAGES_MAPPED = 8;

/** A small first page gets the first bytes out at once. */
const FIRST_PAGE = 8;
const MAX_PAGE = 1000;

export type Key = [axis: number, sessionId: string];

/** The column of an export window's axis. */
export type AxisColumn = 'created_at' | 'meeting_date';
export const axisColumn = (window: ExportWindow): AxisColumn => (window.axis === 'meetingDate' ? 'meeting_date' : 'created_at');

/**
 * The keyset reads of one axis, on any connection: documents after a key (`org_id, axis, session_id,
 * axis's end`), joined in SQLite, and the key `offset` rows on. The lower bound is the row value
 * alone, so the index search starts at the page (a separate `axis >= from` would make every page
 * scan from the window's start). Shared by the export's reads and the day pages' builds
 * (day-page-builder.ts), which store parts in the form of the pages after the first.
 */
export function keysetSql(axis: AxisColumn) {
  const after = `org_id = ? and (${axis}, session_id) > (?, ?) and ${axis} <= ?`;
  return {
    after,
    // Every page but the very first starts with its comma, so the chunks simply concatenate;
    // joined in SQLite, not by Buffer.concat, which would make a second 256 KB Buffer per page.
    // Without GROUP BY the aggregate takes the subquery's rows in its ORDER BY order (the
    // subquery has a LIMIT, so it is never flattened); an ORDER BY inside group_concat would sort
    // the page again in a temporary b-tree at half the speed. The parity tests hold the bytes.
    joined: (comma: boolean) =>
      `select cast(${comma ? "',' || " : ''}group_concat(doc, ',') as blob) as docs, count(*) as n
       from (select doc from session_documents_full where ${after} order by ${axis}, session_id limit ?)`,
    // Read from the index alone.
    keyAt: `select ${axis}, session_id from session_documents where ${after} order by ${axis}, session_id limit 1 offset ?`,
  };
}

/**
 * The paged days from @from to @to of @org's @axis (export_day_pages, migration 011): a marker over
 * parts numbered 1 to n, all of its build, whose sessions add up to its count. The builder sees to
 * that; a day that is not so is read as rows, never wrongly, and built again.
 */
export const PAGED_DAYS_SQL = `select m.day from export_day_pages m join (
    select day, count(*) as n, max(part) as last, sum(sessions) as sessions, min(build) as build, max(build) as other
    from export_day_pages where org_id = @org and axis = @axis and day between @from and @to and part > 0 group by day) p
  on p.day = m.day and p.n = p.last and p.sessions = m.sessions and p.build = m.build and p.other = m.build
  where m.org_id = @org and m.axis = @axis and m.day between @from and @to and m.part = 0 order by m.day`;

export type PagedDaysParams = { org: string; axis: number; from: number; to: number };

/** One page: its documents joined by commas (every page but the first starts with its comma). */
export interface DocumentPage {
  docs: Buffer;
  sessions: number;
}

/**
 * The stored documents of a window, in (org, axis, id) index order, inside one read transaction on
 * a connection of the export's own (one snapshot for the whole export). A day whose documents are
 * kept ready joined (export_day_pages, migration 011; the triggers there make them exactly this
 * snapshot's) is read as its parts, a few files of about a megabyte (day-page-files.ts; parts built
 * before those files hold their bytes in their BLOB). A part whose file is gone (its row was
 * dropped after this snapshot began, and the file swept) ends the day's parts: the rest of the day
 * is read from the documents, after the sessions the parts held. Other days are read a keyset
 * page of documents at a time, which SQLite joins into one BLOB, so a page is one Buffer: no
 * per-document allocation, and no byte decoded or re-encoded on the way to the socket. The page
 * size follows the documents' size so a page stays near its aim however large sessions are.
 * Synchronous: read on the event loop (export-reader.ts) or in an export thread
 * (export-workers.ts). `close` ends the transaction and hands the connection to `release`, which
 * may keep it for the next export (read-connections.ts); its statements stay prepared on it.
 */
export class DocumentPages {
  private readonly rows: ReturnType<DocumentPages['statements']>;
  /** A paged day's part (migration 011): its documents, each after a comma, or an empty BLOB and its file's build. */
  private readonly dayPart: BetterSqlite3.Statement<[string, number, number, number], DocumentPage & { build: number }>;
  private readonly pagesDir: string;
  private readonly mapped: boolean;
  /** The window's days that are paged in this snapshot, in order. */
  private readonly pagedDays: number[];
  private readonly paged: Set<number>;
  private sinceMapped = 0;
  /** Where the rows read next start: (first day's first millisecond, '') reads all of that day. */
  private from: Key;
  /** The next part of a paged day being read, or -1 while reading rows. */
  private part = -1;
  /** Sessions of the paged day being read that its parts so far held. */
  private daySessions = 0;
  private limit = FIRST_PAGE;
  private started = false;
  private done = false;
  private released = false;
  /** A read failed (an I/O error, a corrupt page): the connection is closed, not given back. */
  private failed = false;
  /** Paged days some of whose parts' files were gone, read from the documents: their builder builds them again. */
  readonly filesGone: DayFilesGone[] = [];

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly orgId: string,
    private readonly window: ExportWindow,
    /** Bytes the next page aims at, asked before each page. */
    private readonly pageBytes: () => number = () => SQLITE_PAGE_BYTES,
    /** Through a memory map (above), when the server was told to (SQLITE_EXPORT_MMAP=1). */
    mapped = false,
    /** Takes the connection once the export is done with it, its transaction ended. */
    private readonly release: (db: BetterSqlite3.Database) => void = (db) => db.close(),
  ) {
    try {
      this.rows = this.statements();
      const axis = axisNumber(window);
      this.dayPart = preparedOn(
        db,
        'select docs, sessions, build from export_day_pages where org_id = ? and axis = ? and day = ? and part = ?',
      );
      this.pagesDir = pagesDirOf(db.name);
      this.mapped = mapped;
      if (mapped) db.exec(`pragma mmap_size = ${MAP_BYTES}`);
      db.exec('begin');
      // Read inside the transaction: the same snapshot as every page after. Only days wholly in
      // the window (an export's are whole days; a window that ends within a day reads it as rows).
      this.pagedDays = preparedOn<PagedDaysParams, number>(db, PAGED_DAYS_SQL)
        .pluck()
        .all({ org: orgId, axis, from: window.fromMs, to: window.toMs - DAY_MS + 1 });
      this.paged = new Set(this.pagedDays);
    } catch (error) {
      db.close();
      throw error;
    }
    // No text sorts before the empty string: (day, '') comes before every session of the day.
    this.from = [window.fromMs, ''];
  }

  /** The upper bound of a row read is the end of the days read as rows before the next paged day. */
  private statements() {
    const sql = keysetSql(axisColumn(this.window));
    const page = (comma: boolean) =>
      preparedOn<[string, number, string, number, number], { docs: Buffer | null; n: number }>(this.db, sql.joined(comma));
    return {
      first: page(false),
      next: page(true),
      // The page's last key is where the next page starts.
      lastKey: preparedOn<[string, number, string, number, number], Key>(this.db, sql.keyAt).raw(),
    };
  }

  /** The next page, or null once the window is read. */
  read(): DocumentPage | null {
    try {
      return this.next();
    } catch (error) {
      this.failed = true;
      throw error;
    }
  }

  private next(): DocumentPage | null {
    while (!this.done) {
      const page = this.paged.has(this.from[0]) ? this.readPart() : this.readRows();
      if (page === null) continue;
      this.started = true;
      this.sinceMapped += page.docs.length;
      if (this.mapped && this.sinceMapped >= PAGES_MAPPED * this.pageBytes()) {
        // Between statements no page of the map is in use, so SQLite unmaps it (it would not
        // mid-statement). Each time a new statement: SQLite applies this pragma when it prepares it,
        // so a statement prepared once and run again would not.
        this.db.exec('pragma mmap_size = 0');
        this.db.exec(`pragma mmap_size = ${MAP_BYTES}`);
        this.sinceMapped = 0;
      }
      return page;
    }
    return null;
  }

  /** The next part of the paged day at `from`, or null at the day's end (then `from` is the next day). */
  private readPart(): DocumentPage | null {
    const day = this.from[0];
    // Part 0 is the day's marker; its documents are in parts 1, 2, …
    if (this.part < 1) [this.part, this.daySessions] = [1, 0];
    const axis = axisNumber(this.window);
    const part = this.dayPart.get(this.orgId, axis, day, this.part);
    if (part === undefined) {
      this.part = -1;
      this.moveTo(day + DAY_MS);
      return null;
    }
    const docs = part.docs.length > 0 ? part.docs : readPartFile(this.pagesDir, partFileName(this.orgId, axis, day, part.build, this.part));
    if (docs === null) {
      this.readRestOfDayAsRows(day, part.build);
      return null;
    }
    this.part++;
    this.daySessions += part.sessions;
    // Every part starts with its comma: the export's first page goes without it.
    return { docs: this.started ? docs : docs.subarray(1), sessions: part.sessions };
  }

  /** The day at `day` is read on from the documents, after the sessions its parts held so far (in this snapshot, its first ones). */
  private readRestOfDayAsRows(day: number, build: number): void {
    this.filesGone.push({ day, build });
    this.paged.delete(day);
    this.pagedDays.splice(this.pagedDays.indexOf(day), 1);
    this.part = -1;
    this.from = this.daySessions === 0 ? [day, ''] : this.rows.lastKey.get(this.orgId, day, '', day + DAY_MS - 1, this.daySessions - 1)!;
  }

  /** The next page of rows up to the next paged day, or null where they end (then `from` is that day). */
  private readRows(): DocumentPage | null {
    const { from, limit, orgId } = this;
    const until = this.rowsUntil(from[0]);
    const statement = this.started ? this.rows.next : this.rows.first;
    const { docs, n } = statement.get(orgId, from[0], from[1], until, limit)!;
    if (docs === null || n < limit) this.moveTo(until + 1);
    else {
      this.from = this.rows.lastKey.get(orgId, from[0], from[1], until, limit - 1)!;
      this.limit = Math.min(MAX_PAGE, Math.max(1, Math.round((this.pageBytes() * n) / docs.length)));
    }
    return docs === null ? null : { docs, sessions: n };
  }

  /** The last millisecond before the first paged day after `ms`, or the window's end. */
  private rowsUntil(ms: number): number {
    const days = this.pagedDays;
    let [low, high] = [0, days.length];
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (days[mid]! <= ms) low = mid + 1;
      else high = mid;
    }
    return low < days.length ? days[low]! - 1 : this.window.toMs;
  }

  /** Reads on from the start of the day at `ms`, or ends past the window. */
  private moveTo(ms: number): void {
    if (ms > this.window.toMs) this.done = true;
    else this.from = [ms, ''];
  }

  close(): void {
    const db = this.db;
    if (this.released || !db.open) return;
    this.released = true;
    this.done = true;
    if (this.failed) {
      db.close();
      return;
    }
    try {
      if (db.inTransaction) db.exec('rollback');
      if (this.mapped) db.exec('pragma mmap_size = 0');
    } catch {
      // A connection that cannot end cleanly is not kept.
      db.close();
      return;
    }
    this.release(db);
  }
}

/** An export's pages on a connection taken from `connections`, given back to them when closed. */
export function pagesFrom(
  connections: ReadConnections,
  orgId: string,
  window: ExportWindow,
  pageBytes: () => number,
  mapped: boolean,
): DocumentPages {
  return new DocumentPages(connections.take(), orgId, window, pageBytes, mapped, (db) => connections.give(db));
}

/** The axis as export_day_pages numbers it. */
export const axisNumber = (window: ExportWindow): number => (window.axis === 'meetingDate' ? 1 : 0);

/** The first millisecond of the UTC day of `ms`. */
export const utcDayStart = (ms: number): number => ms - (((ms % DAY_MS) + DAY_MS) % DAY_MS);
