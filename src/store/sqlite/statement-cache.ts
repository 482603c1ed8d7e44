import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Distinct statements kept prepared; statements with long IN lists come and go at the far end. */
const CAPACITY = 256;

/**
 * The writer connection as Kysely sees it, with its prepared statements kept by SQL text. Kysely
 * prepares every query it runs, and preparing cost more than running for the small statements of
 * a coaching change (measured: most of a session create's time went to better-sqlite3's prepare).
 * Safe on one connection: better-sqlite3 runs a statement to completion synchronously, and the
 * writer never streams (exports read through connections of their own).
 */
export function withStatementCache(db: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => db.close(),
    prepare(sql: string): SqliteStatement {
      let statement = cache.get(sql);
      if (statement) {
        // Most recently used last, so the first key is the one to drop.
        cache.delete(sql);
      } else {
        statement = db.prepare(sql) as unknown as SqliteStatement;
        if (cache.size >= CAPACITY) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, statement);
      return statement;
    },
  };
}
