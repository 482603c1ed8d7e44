import fs from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';

/**
 * The import's scratch files (the id ledger, a window's batches: temporary SQLite databases) could
 * not be written, this machine's failure and not the file's or the server's, said as such: SQLite's
 * own words ("disk I/O error") named neither the files nor what to do.
 */
export class ScratchFileError extends Error {
  constructor(cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      `Nothing was imported: the import's temporary files could not be written in ${scratchFolder()} (${why}). ` +
        'Make room there, or set SQLITE_TMPDIR to a folder with more.',
      { cause },
    );
  }
}

/** `work` on a scratch database, its SQLite failures as ScratchFileError. */
export function onScratch<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw asScratchError(error);
  }
}

const FILE_FAILURES = ['SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_CANTOPEN', 'SQLITE_READONLY'];

/** SQLite's failures of the files themselves (full, unwritable, unreadable), as ScratchFileError; any other as it is. */
export function asScratchError(error: unknown): unknown {
  if (!(error instanceof BetterSqlite3.SqliteError)) return error;
  const code = error.code;
  // Extended codes too (SQLITE_IOERR_WRITE, SQLITE_CANTOPEN_ISDIR, SQLITE_READONLY_DIRECTORY).
  const ofTheFiles = FILE_FAILURES.some((prefix) => code.startsWith(prefix));
  return ofTheFiles ? new ScratchFileError(error) : error;
}

/** Where SQLite puts a temporary database on Unix: the first of these that is a folder it may write in. */
export function scratchFolder(env: NodeJS.ProcessEnv = process.env): string {
  const candidates = [env.SQLITE_TMPDIR, env.TMPDIR, '/var/tmp', '/usr/tmp', '/tmp'];
  for (const folder of candidates) {
    if (!folder) continue;
    try {
      if (!fs.statSync(folder).isDirectory()) continue;
      fs.accessSync(folder, fs.constants.W_OK | fs.constants.X_OK);
      return folder;
    } catch {}
  }
  return '.';
}
