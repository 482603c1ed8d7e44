import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';

export interface BackupProgress {
  totalPages: number;
  remainingPages: number;
}

export interface BackupResult {
  file: string;
  pages: number;
  bytes: number;
  /** How many times a write by another connection made SQLite start the copy again. */
  restarts: number;
}

/** Pages per step while copying in slices: about a hundredth of the database, for the progress line. */
function slice(totalPages: number): number {
  return Math.max(256, Math.ceil(totalPages / 100));
}

/** SQLite's "copy everything left in this one step" (a step never takes more pages than exist). */
const ALL_REMAINING = 0x7fffffff;

/**
 * A consistent copy of a live SQLite database through SQLite's online backup API, while other
 * processes (a running server) keep writing. The copy goes in slices for progress; a write by
 * another connection makes SQLite restart the copy, and after one restart the rest is copied in
 * a single step: one read transaction, so one snapshot, which WAL lets run beside the writers.
 * The copy is written beside `destination` and renamed onto it only when complete and checked,
 * so `destination` is never a half-written file.
 */
export async function backupSqlite(
  source: string,
  destination: string,
  onProgress: (progress: BackupProgress) => void = () => undefined,
): Promise<BackupResult> {
  const target = path.resolve(destination);
  const partial = `${target}.partial-${process.pid}`;
  fs.rmSync(partial, { force: true });
  const db = new BetterSqlite3(source, { readonly: true, fileMustExist: true });
  let restarts = 0;
  try {
    db.pragma('busy_timeout = 5000');
    let lastRemaining = Infinity;
    let onePass = false;
    const done = await db.backup(partial, {
      progress({ totalPages, remainingPages }) {
        // Every step copies at least one page, so "no closer" means SQLite started over.
        if (remainingPages >= lastRemaining) {
          restarts += 1;
          onePass = true;
        }
        lastRemaining = remainingPages;
        onProgress({ totalPages, remainingPages });
        return onePass ? ALL_REMAINING : slice(totalPages);
      },
    });
    onProgress({ totalPages: done.totalPages, remainingPages: 0 });
    finishCopy(partial);
    fs.renameSync(partial, target);
    return { file: target, pages: done.totalPages, bytes: fs.statSync(target).size, restarts };
  } catch (error) {
    fs.rmSync(partial, { force: true });
    throw error;
  } finally {
    db.close();
  }
}

/** The copy as one self-contained file (no -wal beside it), checked before it is handed over. */
function finishCopy(file: string): void {
  const copy = new BetterSqlite3(file);
  try {
    copy.pragma('journal_mode = DELETE');
    const check = copy.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`The copy failed SQLite's quick_check: ${String(check)}.`);
  } finally {
    copy.close();
  }
}
