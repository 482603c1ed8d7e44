import fs from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';

export type SqliteSynchronous = 'NORMAL' | 'FULL';

/** A connection to the store's file: the writer, or a read-only one (readers, export workers). */
export function connect(file: string, readonly: boolean, synchronous: SqliteSynchronous = 'NORMAL'): BetterSqlite3.Database {
  const db = new BetterSqlite3(file, { readonly, fileMustExist: readonly });
  // Another process (the command line beside a running server) may hold the write lock briefly.
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  if (readonly) {
    // Readers stream pages once (the OS keeps the file cached), so 1 MiB of page cache is enough;
    // better-sqlite3's default of 16 MB per connection made twelve exports at once cost 200 MB
    // that the allocator did not hand back after they closed.
    db.pragma('cache_size = -1024');
  } else {
    // 64 MiB of page cache for the writer: index inserts of a large import stay in memory instead
    // of re-reading the WAL.
    db.pragma('cache_size = -65536');
    walMode(db, file);
    // Checkpoints run in a worker thread (checkpointer.ts); the writer checkpoints in its
    // own commits only if the WAL reaches 10,000 pages (about 40 MB) because that thread fell behind.
    db.pragma('wal_autocheckpoint = 10000');
    // WAL with NORMAL: a committed write survives the process being killed (it is in the WAL file)
    // and the database is never corrupted; only an OS crash or power loss can drop the last commits.
    // FULL also fsyncs every commit, which caps writes at the disk's fsync rate.
    db.pragma(`synchronous = ${synchronous}`);
  }
  return db;
}

/**
 * WAL mode, which a file keeps once set. Setting it needs the file to itself for a moment, and
 * SQLite does not wait for that: it refuses at once while another process writes with a rollback
 * journal, which only a file's `coachport import` does (bulk-import.ts) until it commits.
 */
function walMode(db: BetterSqlite3.Database, file: string): void {
  try {
    db.pragma('journal_mode = WAL');
  } catch (error) {
    db.close();
    if ((error as { code?: unknown }).code === 'SQLITE_BUSY' && fs.existsSync(`${file}-journal`)) {
      throw Object.assign(
        new Error(
          `${file} is being written by a coachport import, which has it to itself until it commits; try again once it has finished.`,
        ),
        { code: 'SQLITE_BUSY' },
      );
    }
    throw error;
  }
}
