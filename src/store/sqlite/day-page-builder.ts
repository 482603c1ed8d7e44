import { randomInt } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type BetterSqlite3 from 'better-sqlite3';
import type { ExportWindow } from '../../export/window.js';
import { connect } from './connect.js';
import { axisNumber, dayOf, SQLITE_PAGE_BYTES } from './document-pages.js';

const DAY_MS = 86_400_000;
/** The first part's documents; the next parts' count aims at SQLITE_PAGE_BYTES from the bytes of the one before. */
const FIRST_PART_SESSIONS = 128;
/**
 * A paged day no export has read for this long is dropped, so the bytes kept twice are those of
 * the days people export now (a nightly export of the last 90 days keeps 90 days), not of every
 * day ever exported.
 */
export const DAY_PAGES_UNUSED_MS = 30 * DAY_MS;
/** How often the unused pages are looked for, and how many rows a transaction drops. */
const EVICT_EVERY_MS = 3_600_000;
const EVICT_ROWS = 64;

type Key = [axis: number, sessionId: string];
type Statements = ReturnType<typeof prepare>;

/**
 * Builds the pages of the days an export read (export_day_pages, migration 011), so the next export
 * of those days reads a few large BLOBs instead of a document at a time (docs/performance.md, "Day
 * pages"). Built after an export, not at write time, so only days somebody exports cost the extra
 * bytes, and a day written again (whose pages its write's trigger deleted) is rebuilt only when it
 * is exported again.
 *
 * A day is built a part (about SQLITE_PAGE_BYTES) per write transaction, so requests never wait
 * behind more than one part's work, and it becomes paged only when its marker (part 0) is written.
 * That happens in the transaction that writes its last part, and only if every part of the day
 * is still there and of this build: any write to the day since the first part deleted them all
 * (the triggers), so the parts are then exactly the day's documents as they are. A build that
 * finds otherwise leaves the day unpaged. Each export marks the paged days it read as used (the
 * markers' `used_at`); days unused for DAY_PAGES_UNUSED_MS are dropped, at most hourly, a few rows
 * per transaction. The builder has a connection of its own with a small
 * page cache (the writer's 64 MiB would fill with the pages' bytes), used only while the writer's
 * connection is held, so no Kysely transaction is open beside it.
 */
export class DayPageBuilder {
  private readonly queue = new Map<string, { orgId: string; window: ExportWindow }>();
  private running: Promise<void> | null = null;
  private stopped = false;
  private building = false;
  private evictedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly file: string,
    /** Runs synchronous work while no Kysely transaction is open on the writer. */
    private readonly onWriter: <T>(work: () => T) => Promise<T>,
    private readonly onError: (error: Error) => void,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The days of `window` that are not paged yet are built, after any asked for before. */
  exported(orgId: string, window: ExportWindow): void {
    if (this.stopped) return;
    this.queue.set(`${orgId}\u0000${window.axis}\u0000${window.fromMs}\u0000${window.toMs}`, { orgId, window });
    this.running ??= this.run().finally(() => (this.running = null));
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
    let db: BetterSqlite3.Database | null = null;
    let statements: Statements | null = null;
    try {
      for (const [key, { orgId, window }] of this.queue) {
        this.queue.delete(key);
        this.building = true;
        try {
          // Opened here, not with the store: the table is made by the store's migrations.
          if (db === null) {
            db = connect(this.file, false);
            db.pragma('cache_size = -2048');
            statements = prepare(db);
          }
          await this.evictUnused(statements!);
          await this.buildWindow(db, statements!, orgId, window);
        } catch (error) {
          // The pages only make exports faster: a day left unpaged is read document by document.
          this.onError(error instanceof Error ? error : new Error(String(error)));
        } finally {
          this.building = false;
        }
      }
    } finally {
      db?.close();
    }
  }

  /** Drops the days no export has read for DAY_PAGES_UNUSED_MS, unless that was looked at within the hour. */
  private async evictUnused(statements: Statements): Promise<void> {
    const now = this.clock();
    if (now - this.evictedAt < EVICT_EVERY_MS) return;
    this.evictedAt = now;
    while (!this.stopped) {
      const { changes } = await this.onWriter(() => statements.evict.run(now - DAY_PAGES_UNUSED_MS, EVICT_ROWS));
      if (changes < EVICT_ROWS) return;
      await nextTurn();
    }
  }

  /** Marks the window's paged days used, then builds each of its days that has documents and is not paged. */
  private async buildWindow(db: BetterSqlite3.Database, statements: Statements, orgId: string, window: ExportWindow): Promise<void> {
    const axis = axisNumber(window);
    const { firstAt, paged } = statements.axes[axis]!;
    await this.onWriter(() => statements.use.run(this.clock(), orgId, axis, dayOf(window.fromMs), window.toMs));
    for (let from = dayOf(window.fromMs); !this.stopped; ) {
      const first = firstAt.get(orgId, from, window.toMs);
      if (first === undefined) return;
      const day = dayOf(first);
      if (paged.get(orgId, axis, day) === undefined) await this.buildDay(db, statements, orgId, axis, day);
      from = day + DAY_MS;
    }
  }

  private async buildDay(db: BetterSqlite3.Database, statements: Statements, orgId: string, axis: number, day: number): Promise<void> {
    const { insertPart, lastKey, paged } = statements.axes[axis]!;
    const { dropDay, insertMarker, partOf, parts: partsOf } = statements;
    // Tells this build's parts from those of a build elsewhere (another process) of the same day.
    const build = randomInt(1, 2 ** 47);
    const dayEnd = day + DAY_MS - 1;
    let after: Key = [day, ''];
    let limit = FIRST_PART_SESSIONS;
    let sessions = 0;
    for (let part = 1; !this.stopped; part++) {
      const done = await this.onWriter(() => {
        db.exec('begin immediate');
        try {
          if (part === 1) {
            if (paged.get(orgId, axis, day) !== undefined) {
              db.exec('commit');
              return true;
            }
            // Parts of an earlier build that never finished (the process stopped) go first.
            dropDay.run(orgId, axis, day);
          }
          // Joined inside SQLite, as an export's pages are: no document crosses into JavaScript.
          const at = this.clock();
          const { changes, lastInsertRowid } = insertPart.run(orgId, axis, day, part, build, at, orgId, after[0], after[1], dayEnd, limit);
          const written = changes === 0 ? { sessions: 0, bytes: 0 } : partOf.get(lastInsertRowid)!;
          sessions += written.sessions;
          const complete = written.sessions < limit;
          if (complete) {
            const { total, mine } = partsOf.get(build, orgId, axis, day)!;
            const whole = total === mine && mine === (written.sessions > 0 ? part : part - 1) && sessions > 0;
            if (whole) insertMarker.run(orgId, axis, day, build, sessions, this.clock());
            else dropDay.run(orgId, axis, day);
          } else {
            after = lastKey.get(orgId, after[0], after[1], dayEnd, limit - 1)!;
            limit = Math.max(1, Math.round((SQLITE_PAGE_BYTES * written.sessions) / written.bytes));
          }
          db.exec('commit');
          return complete;
        } catch (error) {
          if (db.inTransaction) db.exec('rollback');
          // The same part written by a build elsewhere: that one pages the day, or neither does.
          if ((error as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE') return true;
          throw error;
        }
      });
      if (done) return;
      await nextTurn();
    }
  }
}

/** The builder's statements, on its own connection; per axis, numbered as export_day_pages numbers them. */
function prepare(db: BetterSqlite3.Database) {
  return {
    axes: ['created_at', 'meeting_date'].map((axis) => {
      const after = `org_id = ? and (${axis}, session_id) > (?, ?) and ${axis} <= ?`;
      return {
        firstAt: db
          .prepare<[string, number, number], number>(
            `select ${axis} from session_documents where org_id = ? and ${axis} between ? and ? order by ${axis} limit 1`,
          )
          .pluck(),
        paged: db.prepare<[string, number, number], 1>(
          'select 1 from export_day_pages where org_id = ? and axis = ? and day = ? and part = 0',
        ),
        // Each document after a comma, as the export's pages after its first (document-pages.ts).
        insertPart: db.prepare<[string, number, number, number, number, number, string, number, string, number, number], void>(
          `insert into export_day_pages (org_id, axis, day, part, build, used_at, sessions, docs)
           select ?, ?, ?, ?, ?, ?, count(*), cast(',' || group_concat(doc, ',') as blob)
           from (select doc from session_documents_full where ${after} order by ${axis}, session_id limit ?)
           having count(*) > 0`,
        ),
        lastKey: db
          .prepare<[string, number, string, number, number], Key>(
            `select ${axis}, session_id from session_documents where ${after} order by ${axis}, session_id limit 1 offset ?`,
          )
          .raw(),
      };
    }),
    partOf: db.prepare<[number | bigint], { sessions: number; bytes: number }>(
      'select sessions, length(docs) as bytes from export_day_pages where rowid = ?',
    ),
    parts: db.prepare<[number, string, number, number], { total: number; mine: number }>(
      'select count(*) as total, coalesce(sum(build = ?), 0) as mine from export_day_pages where org_id = ? and axis = ? and day = ?',
    ),
    dropDay: db.prepare<[string, number, number], void>('delete from export_day_pages where org_id = ? and axis = ? and day = ?'),
    insertMarker: db.prepare<[string, number, number, number, number, number], void>(
      "insert into export_day_pages (org_id, axis, day, part, build, sessions, used_at, docs) values (?, ?, ?, 0, ?, ?, ?, x'')",
    ),
    use: db.prepare<[number, string, number, number, number], void>(
      'update export_day_pages set used_at = ? where org_id = ? and axis = ? and day between ? and ? and part = 0',
    ),
    // A part goes with its day's marker; parts without one (a build that stopped) once they are as old.
    evict: db.prepare<[number, number], void>(
      `delete from export_day_pages where rowid in (
         select p.rowid from export_day_pages p
         left join export_day_pages m on m.org_id = p.org_id and m.axis = p.axis and m.day = p.day and m.part = 0
         where coalesce(m.used_at, p.used_at) < ? limit ?)`,
    ),
  };
}
