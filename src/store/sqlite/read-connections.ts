import type BetterSqlite3 from 'better-sqlite3';
import { connect } from './connect.js';
import { StatementCache } from './statement-cache.js';

/**
 * Read-only connections kept open between exports. Opening one and preparing an export's statements
 * on it (which first parses the whole schema) took about 1.9 ms, about two fifths of a one-day
 * export's time to first byte as curl saw it (docs/performance.md, "Time to the first byte"); a
 * connection kept, with its statements prepared, begins the next export's snapshot in about 0.05 ms. A kept connection holds no snapshot
 * (its transaction ended) and at most its 1 MiB page cache.
 */
const KEPT = 4;

export class ReadConnections {
  private readonly idle: BetterSqlite3.Database[] = [];
  private closed = false;

  constructor(private readonly file: string) {}

  take(): BetterSqlite3.Database {
    return this.idle.pop() ?? connect(this.file, true);
  }

  /** Kept for the next export when it ended cleanly and there is room; otherwise closed. */
  give(db: BetterSqlite3.Database): void {
    if (!db.open) return;
    if (this.closed || this.idle.length >= KEPT || db.inTransaction) db.close();
    else this.idle.push(db);
  }

  close(): void {
    this.closed = true;
    for (const db of this.idle.splice(0)) db.close();
  }
}

const statements = new WeakMap<BetterSqlite3.Database, StatementCache>();

/**
 * `sql` prepared on `db` once, for as long as the connection lives. One statement object serves
 * every use of the text, so its mode (`pluck`, `raw`) is the last one set: a text must always be
 * used in the same mode.
 */
export function preparedOn<P extends unknown[] | object = unknown[], R = unknown>(db: BetterSqlite3.Database, sql: string) {
  const cache = statements.get(db) ?? new StatementCache(db);
  statements.set(db, cache);
  return cache.prepare(sql) as unknown as BetterSqlite3.Statement<P, R>;
}
