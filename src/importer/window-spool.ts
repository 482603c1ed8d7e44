import { deserialize, serialize } from 'node:v8';
import BetterSqlite3 from 'better-sqlite3';
import { onScratch } from './scratch-file.js';

/** Pages kept in memory (KiB, as SQLite's negative cache_size): a batch or two; the rest is in the file. */
const CACHE_KIB = 8192;

/**
 * The batches of the window `import --from-server` is reading, held until the window has arrived
 * whole, in a temporary SQLite database of its own (a file SQLite deletes when the spool is closed,
 * even when the process is killed), as the id ledger is (disk-ledger.ts): a window of 90 days can
 * hold more than memory should.
 *
 * Why hold them: a window cut short is fetched again. Handed to the store as they came, the batches
 * of the attempt given up were written, and the attempt that came whole could only write over them:
 * a session the source no longer sent the second time (deleted between the two) stayed imported, and
 * its document kept showing items as the first attempt had them. Held here, only an attempt that
 * came whole reaches the store, so the store writes each window as the source last sent it, once.
 */
export class WindowSpool<T> {
  private readonly db = new BetterSqlite3('');
  private readonly insert;
  private readonly next;
  private written = 0;

  constructor() {
    this.db.pragma('journal_mode = OFF');
    this.db.pragma('synchronous = OFF');
    this.db.pragma(`cache_size = -${CACHE_KIB}`);
    // Scratch, never a result: one transaction, never committed.
    this.db.exec('create table batches (n integer primary key, batch blob not null); begin;');
    this.insert = this.db.prepare<[number, Buffer]>('insert into batches (n, batch) values (?, ?)');
    this.next = this.db.prepare<[number], Buffer>('select batch from batches where n = ?').pluck();
  }

  /** Holds a batch of the window being read. */
  put(batch: T): void {
    const bytes = serialize(batch);
    onScratch(() => this.insert.run(this.written, bytes));
    this.written++;
  }

  /** Every batch held, in the order put, one at a time; then the spool is empty. */
  *drain(): Generator<T> {
    for (let n = 0; n < this.written; n++) yield deserialize(onScratch(() => this.next.get(n)!)) as T;
    this.clear();
  }

  /** Forgets every batch held: the window's attempt was given up. */
  clear(): void {
    onScratch(() => this.db.exec('delete from batches'));
    this.written = 0;
  }

  close(): void {
    this.db.close();
  }
}
