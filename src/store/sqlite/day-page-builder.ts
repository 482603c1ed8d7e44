import { randomInt } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type BetterSqlite3 from 'better-sqlite3';
import { freeNow } from '../../bytes.js';
import { DAY_MS } from '../../contract/dates.js';
import type { ExportWindow } from '../../export/window.js';
import { connect } from './connect.js';
import { isBusy } from './writer-dialect.js';
import { type DayFilesGone, pagesDirOf, partFileName, sweepPartFiles, syncPartFiles, writePartFile } from './day-page-files.js';
import {
  type AxisColumn,
  axisNumber,
  utcDayStart,
  type Key,
  keysetSql,
  PAGED_DAYS_SQL,
  type PagedDaysParams,
  SQLITE_PAGE_BYTES,
} from './document-pages.js';
/** Documents a part holds at most; within that, as many as bring it to SQLITE_PAGE_BYTES. */
const PART_SESSIONS_MAX = 1000;
const FIRST_LOOK_AHEAD = 64;
/**
 * A paged day no export has read for this long is dropped, so the bytes kept twice are those of
 * the days people export now (a nightly export of the last 90 days keeps 90 days), not of every
 * day ever exported.
 */
export const DAY_PAGES_UNUSED_MS = 30 * DAY_MS;
/** How often the unused pages are looked for, and how many rows (parts of about a megabyte) a transaction drops. */
const EVICT_EVERY_MS = 3_600_000;
export const EVICT_ROWS = 8;
/** Parts of a day another builder wrote this recently belong to its build under way (another process). */
const BUILD_UNDER_WAY_MS = 60_000;
/**
 * A part's file without its row is deleted once the sweep has seen it so for this long, and it was
 * written this long ago: an export that began before the row went may be reading it (one that finds
 * it gone reads on from the documents), and another process's build writes its file just before
 * its row.
 */
export const PART_FILE_KEPT_MS = 3_600_000;

type Statements = ReturnType<typeof prepare>;
/** The builder's connection, opened at its first build: the table is made by the store's migrations. */
type Connection = { db: BetterSqlite3.Database; statements: Statements };

/**
 * Builds the pages of the days an export read (export_day_pages, migration 011), so the next export
 * of those days reads a few files of about a megabyte instead of a document at a time
 * (docs/performance.md, "Day pages"; the files: day-page-files.ts). Built after an export, not at
 * write time, so only days somebody exports cost the extra bytes, and a day written again (whose
 * pages its write's trigger deleted) is rebuilt only when it is exported again. Only days before
 * the current UTC day are built: today's are still being written, and each write would throw the
 * build away.
 *
 * A day is built a part (about SQLITE_PAGE_BYTES) per write transaction, and becomes paged only
 * when its marker (part 0) is written, in a transaction of its own once every part's file is on
 * disk. Every part's and the marker's transaction first checks that the day has no marker and
 * that every part written so far is still there and of this build: a write to the day deleted them
 * all (the triggers), and another process's build has parts of its own; either way this build stops
 * and drops what it wrote. So a marker stands only over parts that are exactly the day's documents
 * (and the reader checks that too). Parts another builder wrote within the minute are a build under
 * way, left alone; older ones, and this builder's own from a build cut short, are dropped by the
 * next build of the day; their files go with the hourly sweep (day-page-files.ts).
 *
 * Each export marks the paged days it read as used (the markers' `used_at`, at most daily); days
 * unused for DAY_PAGES_UNUSED_MS are dropped when a later export's build runs, at most hourly:
 * their markers first (which unpages a day at once), then the parts left without one, a few rows
 * per transaction. The builder has a connection of its own with a small page cache (the writer's
 * 64 MiB would fill with the pages' bytes), used only while the writer's connection is held, so
 * no Kysely transaction is open beside it. It never waits for the write lock: when another process
 * holds it, the build stops and the next export asks again.
 */
export class DayPageBuilder {
  private readonly queue = new Map<string, { orgId: string; window: ExportWindow; filesGone: DayFilesGone[] }>();
  private running: Promise<void> | null = null;
  private stopped = false;
  private building = false;
  private evictedAt = Number.NEGATIVE_INFINITY;
  /** This builder's mark, in the high bits of its builds' numbers: its own parts left behind are known as such. */
  private readonly token = randomInt(1, 2 ** 26);
  private builds = 0;
  /** Where the parts' bytes go (day-page-files.ts). */
  private readonly dir: string;
  /** Files the last sweep found without a row, and since when. */
  private orphans = new Map<string, number>();

  constructor(
    private readonly file: string,
    /** Runs synchronous work while no Kysely transaction is open on the writer. */
    private readonly onWriter: <T>(work: () => T) => Promise<T>,
    private readonly onError: (error: Error) => void,
    private readonly clock: () => number = Date.now,
  ) {
    this.dir = pagesDirOf(file);
  }

  /**
   * The days of `window` that are not paged yet are built, after any asked for before, and those the
   * export found some of whose parts' files gone (a database restored without its pages' directory)
   * are built again.
   */
  exported(orgId: string, window: ExportWindow, filesGone: DayFilesGone[] = []): void {
    if (this.stopped) return;
    const key = `${orgId}\u0000${window.axis}\u0000${window.fromMs}\u0000${window.toMs}`;
    const asked = this.queue.get(key) ?? { orgId, window, filesGone: [] };
    asked.filesGone.push(...filesGone);
    this.queue.set(key, asked);
    this.start();
  }

  private start(): void {
    this.running ??= this.run().finally(() => {
      this.running = null;
      // Asked for between the run's last look at the queue and now.
      if (this.queue.size > 0 && !this.stopped) this.start();
    });
  }

  /** Waits for the part being built, and builds no more. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.clear();
    await this.running;
  }

  /** Exports whose days wait to be built, the one being built included (a gauge of /metrics). */
  queued(): number {
    return this.queue.size + (this.building ? 1 : 0);
  }

  private async run(): Promise<void> {
    let connection: Connection | null = null;
    try {
      for (const [key, { orgId, window, filesGone }] of this.queue) {
        this.queue.delete(key);
        this.building = true;
        try {
          connection ??= openConnection(this.file);
          const { db, statements } = connection;
          await this.reporting(() => this.buildWindow(db, statements, orgId, window, filesGone));
          await this.reporting(() => this.evictUnused(statements));
        } finally {
          this.building = false;
        }
      }
    } catch (error) {
      this.report(error);
    } finally {
      connection?.db.close();
    }
  }

  /** The pages only make exports faster: what fails leaves days read document by document, and is reported. */
  private async reporting(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.report(error);
    }
  }

  private report(error: unknown): void {
    // Another process holds the write lock (SQLITE_BUSY, _SNAPSHOT, _RECOVERY): the next export asks again.
    if (isBusy(error)) return;
    this.onError(error instanceof Error ? error : new Error(String(error)));
  }

  /** Drops the days no export has read for DAY_PAGES_UNUSED_MS, unless that was looked at within the hour. */
  private async evictUnused(statements: Statements): Promise<void> {
    const now = this.clock();
    if (now - this.evictedAt < EVICT_EVERY_MS) return;
    this.evictedAt = now;
    for (const evict of [statements.evictMarkers, statements.evictParts]) {
      // From where the last batch ended, so each batch reads on instead of scanning from the start.
      for (let after = 0; !this.stopped; ) {
        const rowids = await this.onWriter(() => evict.all(now - DAY_PAGES_UNUSED_MS, after, EVICT_ROWS));
        if (rowids.length < EVICT_ROWS) break;
        after = Math.max(...rowids);
        await nextTurn();
      }
    }
    if (this.stopped) return;
    const kept = new Set(statements.partFiles.all().map((r) => partFileName(r.org_id, r.axis, r.day, r.build, r.part)));
    const seen = this.orphans;
    const due = (name: string, writtenAt: number) =>
      writtenAt <= now - PART_FILE_KEPT_MS && (seen.get(name) ?? now) <= now - PART_FILE_KEPT_MS;
    const left = await sweepPartFiles(this.dir, kept, due);
    this.orphans = new Map(left.map((name) => [name, seen.get(name) ?? now]));
  }

  /** Marks the window's paged days used, then builds each of its past days that has documents and is not paged. */
  private async buildWindow(
    db: BetterSqlite3.Database,
    statements: Statements,
    orgId: string,
    window: ExportWindow,
    filesGone: DayFilesGone[],
  ): Promise<void> {
    const axis = axisNumber(window);
    const { firstAt } = statements.axes[axis]!;
    const { markerBuild, pagedDays, dropDay } = statements;
    const now = this.clock();
    await this.onWriter(() => statements.use.run(now, orgId, axis, utcDayStart(window.fromMs), window.toMs, now - DAY_MS));
    const last = Math.min(window.toMs, utcDayStart(now) - 1);
    // The window's paged days in one query, not one a day: twelve exports ending together ask for
    // the same window twelve times, and a query a day held the event loop for tens of milliseconds.
    // A day unpaged meanwhile is built at the next export; one not paged then is asked again below,
    // as another process may have paged it while this build was on earlier days.
    // Only where the export read the build that stands now: one built since is not dropped.
    const gone = new Set(filesGone.filter(({ day, build }) => markerBuild.get(orgId, axis, day) === build).map(({ day }) => day));
    const paged = new Set(pagedDays.all({ org: orgId, axis, from: utcDayStart(window.fromMs), to: last }).filter((d) => !gone.has(d)));
    for (let from = utcDayStart(window.fromMs); !this.stopped; ) {
      const first = firstAt.get(orgId, from, last);
      if (first === undefined) return;
      const day = utcDayStart(first);
      if (paged.has(day) || (!gone.has(day) && pagedDays.get({ org: orgId, axis, from: day, to: day }) !== undefined)) await nextTurn();
      else {
        // A marker over parts the reader would not take (it reads that day as rows), or whose files
        // are gone (a database restored without its pages' directory), goes first.
        if (markerBuild.get(orgId, axis, day) !== undefined) await this.onWriter(() => dropDay.run(orgId, axis, day));
        await this.buildDay(db, statements, orgId, axis, day);
      }
      from = day + DAY_MS;
    }
  }

  private async buildDay(db: BetterSqlite3.Database, statements: Statements, orgId: string, axis: number, day: number): Promise<void> {
    // The build's number: this builder's token in its high bits, so parts it left behind are known as its own.
    const build = this.token * 2 ** 20 + (this.builds++ % 2 ** 20);
    const progress: PartProgress = { build, part: 1, after: [day, ''], sessions: 0, lookAhead: FIRST_LOOK_AHEAD, written: false };
    while (!this.stopped) {
      const done = await this.onWriter(() => {
        db.exec('begin immediate');
        try {
          const result = this.writePart(statements, orgId, axis, day, progress);
          db.exec('commit');
          return result;
        } catch (error) {
          if (db.inTransaction) db.exec('rollback');
          // The same part written by a build elsewhere: that one pages the day, or neither does.
          if ((error as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE') return true;
          throw error;
        }
      });
      if (done) return;
      if (progress.written) {
        const names = Array.from({ length: progress.part }, (_, i) => partFileName(orgId, axis, day, build, i + 1));
        await syncPartFiles(this.dir, names);
      }
      progress.part++;
      await nextTurn();
    }
  }

  /**
   * One part of the day, inside its write transaction, or its marker once every part is written and
   * on disk; true once the build is over (the day paged, or the build given up). First, that the
   * build is still whole: no marker, and every part written so far there and of this build.
   */
  private writePart(statements: Statements, orgId: string, axis: number, day: number, progress: PartProgress): boolean {
    const { partSessions, joinedPart, keyAt } = statements.axes[axis]!;
    const { dropDay, dropBuild, insertMarker, insertPart, parts } = statements;
    const { build, part, after } = progress;
    const written = parts.get(build, this.token, orgId, axis, day)!;
    if (written.marker > 0 || written.mine !== part - 1 || (part > 1 && written.total !== written.mine)) {
      // Paged meanwhile, or a write dropped this build's parts, or another build wrote its own: only this build's go.
      dropBuild.run(orgId, axis, day, build);
      return true;
    }
    if (part === 1 && written.total > 0) {
      // Parts written within the minute by another builder: a build under way (another process); let it.
      if (written.ours < written.total && written.newest > this.clock() - BUILD_UNDER_WAY_MS) return true;
      // Parts of a build that never finished (stopped, or cut short by a busy lock) go first.
      dropDay.run(orgId, axis, day);
    }
    const at = this.clock();
    // The last part's transaction is over and its files are on disk: the day is paged.
    if (progress.written) {
      insertMarker.run(orgId, axis, day, build, progress.sessions, at);
      return true;
    }
    const dayEnd = day + DAY_MS - 1;
    const count = partSessions.get(orgId, after[0], after[1], dayEnd, progress.lookAhead, SQLITE_PAGE_BYTES) ?? 0;
    const complete = count === 0 || keyAt.get(orgId, after[0], after[1], dayEnd, count) === undefined;
    if (count > 0) {
      // Joined inside SQLite into one Buffer, as an export's pages are.
      const { docs, n } = joinedPart.get(orgId, after[0], after[1], dayEnd, count)!;
      // The file before its row: a row's file is there from the moment the row can be read.
      writePartFile(this.dir, partFileName(orgId, axis, day, build, part), docs!);
      // Not left for the collector: a build's parts would pile up in the allocator (RSS).
      freeNow(docs!);
      insertPart.run(orgId, axis, day, part, build, at, n);
      progress.sessions += n;
      if (!complete) progress.after = keyAt.get(orgId, after[0], after[1], dayEnd, count - 1)!;
      progress.lookAhead = Math.min(PART_SESSIONS_MAX, 2 * count + 16);
    }
    // After the last part, its marker, over parts that are all of this build, once their files are synced.
    progress.written = complete && progress.sessions > 0;
    return complete && !progress.written;
  }
}

/** Where a day's build is: its number, the part it writes next and the key that part starts after. */
interface PartProgress {
  build: number;
  part: number;
  after: Key;
  sessions: number;
  /** Documents looked at to cut the next part: twice the last part's and some, up to PART_SESSIONS_MAX. */
  lookAhead: number;
  /** Every part is written: next, once their files are synced, the marker. */
  written: boolean;
}

/** The builder's own connection: a small page cache, and never waiting for another process's write lock. */
function openConnection(file: string): Connection {
  const db = connect(file, false);
  db.pragma('cache_size = -2048');
  db.pragma('busy_timeout = 0');
  return { db, statements: prepare(db) };
}

/** The builder's statements, on its own connection; per axis, numbered as export_day_pages numbers them. */
function prepare(db: BetterSqlite3.Database) {
  const axes: AxisColumn[] = ['created_at', 'meeting_date'];
  return {
    axes: axes.map((axis) => {
      const sql = keysetSql(axis);
      return {
        firstAt: db
          .prepare<[string, number, number], number>(
            `select ${axis} from session_documents where org_id = ? and ${axis} between ? and ? order by ${axis} limit 1`,
          )
          .pluck(),
        // How many of the next documents make a part: those that start before its bytes reach
        // the aim (at least one), from the stored lengths, without reading a document.
        partSessions: db
          .prepare<[string, number, string, number, number, number], number>(
            `select count(*) from (
               select sum(size) over (order by ${axis}, session_id rows between unbounded preceding and 1 preceding) as before
               from (select d.${axis}, d.session_id, length(d.doc) + coalesce((select a.bytes + 1 from session_log_archive a
                       where a.org_id = d.org_id and a.session_id = d.session_id and d.log_archived = 1), 0) + 1 as size
                     from session_documents d where ${sql.after} order by ${axis}, session_id limit ?))
             where before is null or before < ?`,
          )
          .pluck(),
        // Each document after a comma, as the export's pages after its first.
        joinedPart: db.prepare<[string, number, string, number, number], { docs: Buffer | null; n: number }>(sql.joined(true)),
        // The key of the document `offset` places after the start: the last of a part, or (one
        // further) whether any is left.
        keyAt: db.prepare<[string, number, string, number, number], Key>(sql.keyAt).raw(),
      };
    }),
    markerBuild: db
      .prepare<[string, number, number], number>(
        'select build from export_day_pages where org_id = ? and axis = ? and day = ? and part = 0',
      )
      .pluck(),
    pagedDays: db.prepare<PagedDaysParams, number>(PAGED_DAYS_SQL).pluck(),
    // A part's bytes are in its file (day-page-files.ts); its BLOB is empty.
    insertPart: db.prepare<[string, number, number, number, number, number, number], void>(
      "insert into export_day_pages (org_id, axis, day, part, build, used_at, sessions, docs) values (?, ?, ?, ?, ?, ?, ?, x'')",
    ),
    partFiles: db.prepare<[], { org_id: string; axis: number; day: number; build: number; part: number }>(
      'select org_id, axis, day, build, part from export_day_pages where part > 0 and length(docs) = 0',
    ),
    parts: db.prepare<
      [number, number, string, number, number],
      { total: number; mine: number; ours: number; marker: number; newest: number }
    >(
      `select count(*) as total, coalesce(sum(build = ?), 0) as mine, coalesce(sum((build >> 20) = ?), 0) as ours,
         coalesce(sum(part = 0), 0) as marker, coalesce(max(used_at), 0) as newest
       from export_day_pages where org_id = ? and axis = ? and day = ?`,
    ),
    dropDay: db.prepare<[string, number, number], void>('delete from export_day_pages where org_id = ? and axis = ? and day = ?'),
    dropBuild: db.prepare<[string, number, number, number], void>(
      'delete from export_day_pages where org_id = ? and axis = ? and day = ? and build = ?',
    ),
    insertMarker: db.prepare<[string, number, number, number, number, number], void>(
      "insert into export_day_pages (org_id, axis, day, part, build, sessions, used_at, docs) values (?, ?, ?, 0, ?, ?, ?, x'')",
    ),
    // Days read within the last day are not marked again: an export costs no write for them.
    use: db.prepare<[number, string, number, number, number, number], void>(
      'update export_day_pages set used_at = ? where org_id = ? and axis = ? and day between ? and ? and part = 0 and used_at < ?',
    ),
    // Markers first: dropping one unpages its day at once, whatever becomes of its parts.
    evictMarkers: db
      .prepare<[number, number, number], number>(
        `delete from export_day_pages where rowid in (
           select rowid from export_day_pages where part = 0 and used_at < ? and rowid > ? order by rowid limit ?) returning rowid`,
      )
      .pluck(),
    // Then parts without a marker, written before the cut-off (a build under way writes them now).
    evictParts: db
      .prepare<[number, number, number], number>(
        `delete from export_day_pages where rowid in (
           select p.rowid from export_day_pages p where p.part > 0 and p.used_at < ? and p.rowid > ? and not exists (
             select 1 from export_day_pages m where m.org_id = p.org_id and m.axis = p.axis and m.day = p.day and m.part = 0)
           order by p.rowid limit ?) returning rowid`,
      )
      .pluck(),
  };
}
