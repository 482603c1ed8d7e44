import BetterSqlite3 from 'better-sqlite3';
import type { FirstMention, IdLedger } from './id-ledger.js';
import { asScratchError, onScratch } from './scratch-file.js';

/**
 * Pages of the ledger SQLite keeps in memory (KiB, as its negative cache_size); the rest is in its
 * temporary file, read back through the operating system's cache.
 */
const CACHE_KIB = 8192;

/**
 * The ledger of a streamed import in a temporary SQLite database of its own (a file SQLite deletes
 * when the ledger is closed), so the import's memory does not grow with the file: in memory the ids
 * of 100,000 seeded sessions (600,000 ids) took about 50 MB, a million sessions would take half a
 * gigabyte, and SPEC §13 asks for flat memory whatever the size. The ledger is scratch, never the
 * import's result: no journal, no syncs, and one transaction that is never committed (SQLite writes
 * what its cache cannot hold to the file as it goes).
 */
export class DiskLedger implements IdLedger {
  private readonly db = new BetterSqlite3('');
  private readonly insert;
  private readonly find;
  private readonly counts = new Map<number, number>();
  /** Ids recorded so far: each one's `n`, its order, is what a rewind goes back by. */
  private used = 0;
  private marked = 0;

  constructor() {
    this.db.pragma('journal_mode = OFF');
    this.db.pragma('synchronous = OFF');
    this.db.pragma(`cache_size = -${CACHE_KIB}`);
    this.db.exec(`
      create table ids (
        kind integer not null,
        id text not null,
        print integer not null,
        element integer not null,
        key integer not null,
        n integer not null,
        primary key (kind, id)
      ) without rowid;
      begin;
    `);
    this.insert = this.db.prepare<[number, string, number, number, number, number]>(
      'insert into ids (kind, id, print, element, key, n) values (?, ?, ?, ?, ?, ?) on conflict do nothing',
    );
    this.find = this.db.prepare<[number, string], FirstMention>('select print, element, key from ids where kind = ? and id = ?');
  }

  firstOrEarlier(kind: number, id: string, mention: FirstMention): FirstMention | null {
    // Inline, not through onScratch: called for every id of the import.
    try {
      if (this.insert.run(kind, id, mention.print, mention.element, mention.key, this.used).changes === 1) {
        this.used++;
        this.counts.set(kind, this.count(kind) + 1);
        return null;
      }
      return this.find.get(kind, id)!;
    } catch (error) {
      throw asScratchError(error);
    }
  }

  count(kind: number): number {
    return this.counts.get(kind) ?? 0;
  }

  mark(): void {
    this.marked = this.used;
  }

  rewind(): void {
    // Rare (a server's window fetched again), so a scan of the table is paid then rather than an
    // index on `n` kept for every insert.
    const forgotten = onScratch(() =>
      this.db
        .prepare<[number], { kind: number; ids: number }>('select kind, count(*) as ids from ids where n >= ? group by kind')
        .all(this.marked),
    );
    for (const { kind, ids } of forgotten) this.counts.set(kind, this.count(kind) - ids);
    onScratch(() => this.db.prepare('delete from ids where n >= ?').run(this.marked));
    this.used = this.marked;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
