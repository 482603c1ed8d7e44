import BetterSqlite3 from 'better-sqlite3';
import type { LinkTable } from '../schema.js';

/** A link an item of a streamed import made to a session outside its own batch. */
export interface ForeignLink {
  table: LinkTable;
  itemId: string;
  position: number;
}

const TABLES: readonly LinkTable[] = ['coaching_point_sessions', 'todo_sessions'];

/**
 * The foreign links of a streamed import (LateRenders), kept until the import ends, in a temporary
 * SQLite database of its own, as the id ledger is (src/importer/disk-ledger.ts): a file SQLite deletes
 * when it is closed, with a small cache, no journal, no syncs and one transaction never committed.
 * In memory they grew with the file: items linked to many sessions across many batches (a to-do set
 * for a whole team) would have outgrown SPEC §13's flat memory on a large enough import.
 */
export class ForeignLinks {
  private readonly db = new BetterSqlite3('');
  private readonly insert;
  private readonly select;

  constructor() {
    this.db.pragma('journal_mode = OFF');
    this.db.pragma('synchronous = OFF');
    this.db.pragma('cache_size = -4096');
    this.db.exec(`
      create table links (
        session_id text not null,
        link_table integer not null,
        item_id text not null,
        position integer not null,
        primary key (session_id, link_table, item_id)
      ) without rowid;
      begin;
    `);
    // The first link of an item to a session is kept, as the file named it first.
    this.insert = this.db.prepare<[string, number, string, number]>(
      'insert into links (session_id, link_table, item_id, position) values (?, ?, ?, ?) on conflict do nothing',
    );
    this.select = this.db
      .prepare<[string], [number, string, number]>('select link_table, item_id, position from links where session_id = ?')
      .raw();
  }

  note(sessionId: string, { table, itemId, position }: ForeignLink): void {
    this.insert.run(sessionId, TABLES.indexOf(table), itemId, position);
  }

  of(sessionId: string): ForeignLink[] {
    return this.select.all(sessionId).map(([table, itemId, position]) => ({ table: TABLES[table]!, itemId, position }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
