import fs from 'node:fs';
import path from 'node:path';

/**
 * The bytes of the day pages' parts, each in a file of its own beside the database (day-page-builder.ts
 * writes them, document-pages.ts reads them). A part's row in export_day_pages (migration 011) keeps
 * an empty BLOB and says which file: its organization, axis, day, build and part name it, and a file
 * is written once, before its row is committed, and never changed. So a row's file is that row's
 * bytes for as long as it exists, and the rows keep every guarantee of the table (triggers, markers,
 * one snapshot per export).
 *
 * Why files: read as a BLOB, a 1 MB part is 256 `pread`s of 4 KB pages through SQLite's overflow
 * chain and a copy into a Buffer; from a file it is one read. Served from the same seeded database
 * and read by the bench's reader, the export went from 994–1,026 to 1,106–1,247 MB/s
 * (docs/performance.md, "Day pages in files").
 *
 * A file whose row is gone (a write dropped its day, a build stopped, an unused day was evicted) is
 * deleted by the builder's sweep once it has been seen without its row for an hour
 * (day-page-builder.ts): an export that began before its row went may still be reading it. An
 * export that finds a part's file gone, or cannot read it, reads the rest of that day from the
 * documents instead (document-pages.ts): the files are a cache of them.
 */

/**
 * Beside the database file, as SQLite's own `-wal` and `-shm`, and like them beside the file a
 * symbolic link leads to, so two processes opening one database by different paths share it.
 */
export function pagesDirOf(databaseFile: string): string {
  try {
    return `${fs.realpathSync(databaseFile)}-pages`;
  } catch {
    return `${databaseFile}-pages`;
  }
}

/** A part's file name: every field that tells its row from another's (organization ids are any text, so in hex). */
export function partFileName(orgId: string, axis: number, day: number, build: number, part: number): string {
  return `${Buffer.from(orgId, 'utf8').toString('hex')}.${axis}.${day}.${build}.${part}`;
}

/** Writes a new part's bytes; a file of that name already there is an error, never overwritten. */
export function writePartFile(dir: string, name: string, bytes: Uint8Array): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), bytes, { flag: 'wx' });
}

/** Directories whose own entry (in the directory above) this process has synced. */
const entriesSynced = new Set<string>();

/**
 * Puts a build's files on disk before its marker is committed, so that a day is paged only over
 * bytes that survive an OS crash as the marker does.
 */
export async function syncPartFiles(dir: string, names: string[]): Promise<void> {
  // Windows cannot open a directory to sync it (NTFS journals the entries of its directories). The
  // pages directory's own entry is synced once a process, so no marker stands over a directory an
  // OS crash took away.
  const parent = entriesSynced.has(dir) ? [] : [path.dirname(dir)];
  const entries = process.platform === 'win32' ? [] : [dir, ...parent];
  for (const target of [...names.map((name) => path.join(dir, name)), ...entries]) {
    const handle = await fs.promises.open(target, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
  entriesSynced.add(dir);
}

/** A paged day an export read from its documents because a part's file was gone, and the build it read. */
export interface DayFilesGone {
  day: number;
  build: number;
}

/** Every part starts with the comma that joins it to what came before. */
const COMMA = 0x2c;

/**
 * A part's bytes, or null when its file is gone, cannot be read (its permissions, no file
 * descriptor left, an I/O error) or is not a part: then the day is read from the documents.
 */
export function readPartFile(dir: string, name: string): Buffer | null {
  let fd: number;
  try {
    fd = fs.openSync(path.join(dir, name), 'r');
  } catch {
    return null;
  }
  try {
    const size = fs.fstatSync(fd).size;
    // Its own memory, whole, so an export thread can hand it to the event loop without a copy.
    const bytes = Buffer.allocUnsafeSlow(size);
    let read = 0;
    while (read < size) {
      const n = fs.readSync(fd, bytes, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    return read === size && size > 1 && bytes[0] === COMMA ? bytes : null;
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Deletes the files of `dir` that are no part of `kept` (file names of the rows there are) and that
 * `due` says may go, given their name and when they were written (a build under way in another
 * process writes its file just before its row). Answers the names of the files without a row that
 * are left.
 */
export async function sweepPartFiles(dir: string, kept: Set<string>, due: (name: string, writtenAt: number) => boolean): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const left: string[] = [];
  for (const name of names) {
    if (kept.has(name)) continue;
    const file = path.join(dir, name);
    try {
      if (due(name, (await fs.promises.stat(file)).mtimeMs)) await fs.promises.unlink(file);
      else left.push(name);
    } catch (error) {
      // Deleted meanwhile by another process's sweep.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return left;
}

/**
 * Every part file, for a store that keeps no day pages (SQLITE_EXPORT_DAY_PAGES=0). At best: a server
 * on the same database that keeps them may be writing one meanwhile, and its sweep takes what is left.
 */
export function removePartFiles(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    // Left to that server's sweep.
  }
}
