import { sql, type SqlBool } from 'kysely';
import { asBuffer } from '../../bytes.js';
import type { StoreAdapter } from '../adapter.js';
import { changesAfter, feedPositionAhead, nextSeq } from './feed.js';

/**
 * SQLite's answers to the store's SQL questions. SQLite serializes writers (one writer connection
 * per process, and the database's write lock across processes), so nothing here locks rows: a
 * transaction that writes already runs alone. An export's read transaction on a connection of its
 * own sees one snapshot through WAL without asking for one.
 */
export const sqliteAdapter: StoreAdapter = {
  name: 'sqlite',
  idIn: (column, ids) => sql<SqlBool>`${sql.ref(column)} in (${sql.join(ids)})`,
  // BINARY, SQLite's default collation, compares UTF-8 bytes: code point order.
  byCodePoint: (column) => sql.ref(column),
  forUpdate: (query) => query,
  skipLocked: (query) => query,
  lockSessionsForUpdate: async () => undefined,
  lockAdminChanges: async () => undefined,
  // One writer at a time: a rename and a write never overlap.
  lockNames: async () => undefined,
  // An import holds the database's write lock: nothing else writes meanwhile.
  refuseDuringImport: async () => undefined,
  snapshotTransaction: (begin) => begin,
  // A BLOB: the export reader joins a page of them into one Buffer without decoding any.
  documentValue: (json) => (typeof json === 'string' ? Buffer.from(json, 'utf8') : asBuffer(json)),
  async feedPositions(trx, orgId) {
    let seq = await nextSeq(trx, orgId);
    return () => ({ xid: 0, seq: seq++ });
  },
  changesAfter,
  feedPositionAhead,
  async spliceName(trx, orgId, { key, next, value, column, id }) {
    // instr counts bytes only when both sides are BLOBs, as substr does on a BLOB; || yields text,
    // cast back to the stored BLOB.
    const spliced = sql`cast(
      substr(d.doc, 1, instr(d.doc, cast(${key} as blob)) + ${key.length - 1})
      || ${value}
      || substr(d.doc, instr(d.doc, cast(${next} as blob)))
      as blob)`;
    const base = (await nextSeq(trx, orgId)) - 1;
    await sql`
      with targets as (
        select s.id, row_number() over (order by s.id) as n from coaching_sessions s
        where s.org_id = ${orgId} and ${column} = ${id})
      update session_documents as d
      set doc = ${spliced}, seq = ${base} + targets.n
      from targets
      where d.org_id = ${orgId} and d.session_id = targets.id and instr(d.doc, cast(${key + value + next} as blob)) = 0`.execute(trx);
  },
  async beginWrite(db) {
    await sql`begin immediate`.execute(db);
  },
  // SQLite's planner picks these tables' indexes without statistics.
  analyze: async () => undefined,
  statsSql: {
    day: (day) => sql<string>`date(${day} * 86400, 'unixepoch')`,
    month: (day) => sql<string>`strftime('%Y-%m', ${day} * 86400, 'unixepoch')`,
    // `median` of the percentile functions, compiled into the SQLite that better-sqlite3 bundles.
    median: (column) => sql`median(${column})`,
  },
};
