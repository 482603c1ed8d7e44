import type BetterSqlite3 from 'better-sqlite3';

/** Distinct statements kept prepared; statements with long IN lists come and go at the far end. */
const CAPACITY = 256;

/**
 * A connection's prepared statements kept by SQL text, the least recently used dropped past
 * CAPACITY. Kysely prepares every query it runs, and preparing cost more than running for the small
 * statements of a coaching change (measured: most of a session create's time went to
 * better-sqlite3's prepare). An import prepares its statements through one of these too: prepared
 * again for every batch, a 64-row INSERT's program (large) was freed only when V8 collected its
 * statement object, which a thread that only writes does rarely (a 1,000,000-session import grew
 * by 150 MB of them). Safe on one connection: better-sqlite3 runs a statement to completion
 * synchronously, and the writer never streams (exports read through connections of their own).
 */
export class StatementCache {
  private readonly cache = new Map<string, BetterSqlite3.Statement>();

  constructor(private readonly db: BetterSqlite3.Database) {}

  prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): BetterSqlite3.Statement<P, R> {
    let statement = this.cache.get(sql);
    if (statement) {
      // Most recently used last, so the first key is the one to drop.
      this.cache.delete(sql);
    } else {
      statement = this.db.prepare(sql);
      if (this.cache.size >= CAPACITY) this.cache.delete(this.cache.keys().next().value!);
    }
    this.cache.set(sql, statement);
    return statement as BetterSqlite3.Statement<P, R>;
  }
}
