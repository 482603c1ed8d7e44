import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql, type RawBuilder, type Transaction } from 'kysely';
import pg from 'pg';
import { TABLE_DEFINITIONS, TABLE_NAMES, tableRows, type Cell, type ColumnType, type TableName } from '../client/tables.js';
import type { ExportSession } from '../contract/schemas.js';

/** The sync's own bookkeeping, beside the mirrored tables. */
const STATE_TABLE = 'coachport_sync_state';
/** A digest of each session's last applied document, so an unchanged document is not written again. */
const DIGEST_TABLE = 'coachport_sync_documents';

export type MirrorKind = 'postgres' | 'sqlite';
export type SyncState = Record<string, string>;

// The mirror's tables are described at run time from the shared table definitions, so its
// queries are untyped on purpose; nothing of that leaves this module.
type AnyDb = Kysely<any>;

const SQL_TYPES: Record<MirrorKind, Record<ColumnType, string>> = {
  postgres: { text: 'text', boolean: 'boolean', timestamp: 'timestamptz', integer: 'integer' },
  // SQLite has no boolean or time type: 0/1 and ISO 8601 text, which sorts in time order.
  sqlite: { text: 'text', boolean: 'integer', timestamp: 'text', integer: 'integer' },
};

/** Bound parameters per statement, under SQLite's 32,766 and PostgreSQL's 65,535. */
const MAX_PARAMETERS = 30_000;

export function mirrorKindOf(target: string): MirrorKind {
  return /^postgres(ql)?:\/\//i.test(target) ? 'postgres' : 'sqlite';
}

export function digestOf(session: ExportSession): string {
  return createHash('sha256').update(JSON.stringify(session)).digest('base64url');
}

/**
 * A database that holds the export's tables (the CSV export's names and columns, typed) and keeps
 * them equal to the server's current documents, one transaction per page.
 */
export class Mirror {
  private constructor(
    readonly kind: MirrorKind,
    private readonly db: AnyDb,
  ) {}

  static async open(target: string): Promise<Mirror> {
    const kind = mirrorKindOf(target);
    let db: AnyDb;
    if (kind === 'postgres') {
      const pool = new pg.Pool({ connectionString: target, max: 2 });
      // A dropped connection fails the query in progress; it must not crash the process.
      pool.on('error', () => undefined);
      pool.on('connect', (client) => client.on('error', () => undefined));
      db = new Kysely({ dialect: new PostgresDialect({ pool }) });
    } else {
      const file = target.replace(/^(sqlite|file):(\/\/)?/i, '');
      fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      const database = new BetterSqlite3(file);
      database.pragma('busy_timeout = 5000');
      // A committed page survives the process being killed: it is in the WAL.
      database.pragma('journal_mode = WAL');
      database.pragma('synchronous = NORMAL');
      db = new Kysely({ dialect: new SqliteDialect({ database }) });
    }
    const mirror = new Mirror(kind, db);
    await mirror.createTables();
    return mirror;
  }

  private async createTables(): Promise<void> {
    const types = SQL_TYPES[this.kind];
    for (const table of TABLE_NAMES) {
      const { columns, key } = TABLE_DEFINITIONS[table];
      const definitions = columns.map(([name, type]) => sql`${sql.id(name)} ${sql.raw(types[type])}${key.includes(name) ? sql.raw(' not null') : sql.raw('')}`);
      await sql`create table if not exists ${sql.id(table)} (${sql.join(definitions)}, primary key (${sql.join(key.map((k) => sql.id(k)))}))`.execute(this.db);
    }
    // Link rows are replaced by session as well as by record.
    for (const table of ['coaching_point_sessions', 'todo_sessions'] as const) {
      await sql`create index if not exists ${sql.id(`${table}_session`)} on ${sql.id(table)} (${sql.id('sessionId')})`.execute(this.db);
    }
    await sql`create table if not exists ${sql.id(STATE_TABLE)} (key text primary key, value text not null)`.execute(this.db);
    await sql`create table if not exists ${sql.id(DIGEST_TABLE)} (${sql.id('sessionId')} text primary key, digest text not null)`.execute(this.db);
  }

  async readState(db: AnyDb | Transaction<unknown> = this.db): Promise<SyncState> {
    const rows = await sql<{ key: string; value: string }>`select key, value from ${sql.id(STATE_TABLE)}`.execute(db);
    return Object.fromEntries(rows.rows.map((r) => [r.key, r.value]));
  }

  /**
   * Applies sessions and the state that goes with them (the cursor) in one transaction, writing
   * only documents that differ from the ones applied before. Returns how many sessions were
   * written; when none were and the state is unchanged, nothing at all is written.
   */
  async apply(sessions: AsyncIterable<ExportSession> | Iterable<ExportSession>, state: SyncState, batchSize = 500): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      // A page and its cursor commit together, so if the database server loses its last commits
      // in a crash it loses both, and the next run fetches them again: the commit need not wait
      // for the disk.
      if (this.kind === 'postgres') await sql`set local synchronous_commit = off`.execute(trx);
      const current = await this.readState(trx);
      const stateChanged = Object.entries(state).filter(([key, value]) => current[key] !== value);
      let written = 0;
      let batch: ExportSession[] = [];
      const flush = async () => {
        written += await this.applyBatch(trx, batch);
        batch = [];
      };
      for await (const session of sessions) {
        batch.push(session);
        if (batch.length >= batchSize) await flush();
      }
      await flush();
      for (const [key, value] of stateChanged) {
        await sql`insert into ${sql.id(STATE_TABLE)} (key, value) values (${key}, ${value}) on conflict (key) do update set value = excluded.value`.execute(trx);
      }
      return written;
    });
  }

  private async applyBatch(trx: Transaction<unknown>, batch: ExportSession[]): Promise<number> {
    if (batch.length === 0) return 0;
    // The last document of a session in the batch is its newest.
    const latest = new Map(batch.map((s) => [s._id, s]));
    const digests = new Map([...latest.values()].map((s) => [s._id, digestOf(s)]));
    const known = await sql<{ sessionId: string; digest: string }>`select ${sql.id('sessionId')}, digest from ${sql.id(DIGEST_TABLE)} where ${sql.id('sessionId')} in (${sql.join([...latest.keys()])})`.execute(trx);
    for (const row of known.rows) if (digests.get(row.sessionId) === row.digest) latest.delete(row.sessionId);
    if (latest.size === 0) return 0;

    const sessions = [...latest.values()];
    const ids = sessions.map((s) => s._id);
    const rows = tableRows(sessions);
    const pointIds = rows.coaching_points.map((r) => r[0] as string);
    const todoIds = rows.todos.map((r) => r[0] as string);
    // A session's children are replaced by its current ones: its log, and its links (a point no
    // longer linked to it loses that link; the point's own row stays, flagged as the server says).
    await this.deleteWhereIn(trx, 'activity_log', 'sessionId', ids);
    await this.deleteWhereIn(trx, 'coaching_point_sessions', 'sessionId', ids);
    await this.deleteWhereIn(trx, 'coaching_point_sessions', 'coachingPointId', pointIds);
    await this.deleteWhereIn(trx, 'todo_sessions', 'sessionId', ids);
    await this.deleteWhereIn(trx, 'todo_sessions', 'todoId', todoIds);
    for (const table of TABLE_NAMES) await this.upsert(trx, table, rows[table]);
    await this.upsertDigests(trx, [...digests].filter(([id]) => latest.has(id)));
    return sessions.length;
  }

  private async deleteWhereIn(trx: Transaction<unknown>, table: TableName, column: string, values: string[]): Promise<void> {
    if (values.length === 0) return;
    if (this.kind === 'postgres') {
      await sql`delete from ${sql.id(table)} where ${sql.id(column)} = any(${values}::text[])`.execute(trx);
      return;
    }
    for (let i = 0; i < values.length; i += MAX_PARAMETERS) {
      const chunk = values.slice(i, i + MAX_PARAMETERS);
      await sql`delete from ${sql.id(table)} where ${sql.id(column)} in (${sql.join(chunk)})`.execute(trx);
    }
  }

  private cell(value: Cell, type: ColumnType): unknown {
    if (value === null) return null;
    if (type === 'boolean' && this.kind === 'sqlite') return value ? 1 : 0;
    return value;
  }

  private async upsert(trx: Transaction<unknown>, table: TableName, rows: Cell[][]): Promise<void> {
    if (rows.length === 0) return;
    const { columns, key } = TABLE_DEFINITIONS[table];
    const names = columns.map(([name]) => name);
    const rest = names.filter((n) => !key.includes(n));
    const into = sql`insert into ${sql.id(table)} (${sql.join(names.map((n) => sql.id(n)))})`;
    const onConflict = sql`on conflict (${sql.join(key.map((k) => sql.id(k)))}) do update set ${sql.join(rest.map((n) => sql`${sql.id(n)} = excluded.${sql.id(n)}`))}`;
    if (this.kind === 'postgres') {
      // One array parameter per column, unnested into rows: one short statement whatever the
      // number of rows, several times faster than a VALUES list of thousands of parameters.
      const arrays = columns.map(([, type], c) => sql`${rows.map((row) => row[c])}::${sql.raw(SQL_TYPES.postgres[type])}[]`);
      await sql`${into} select * from unnest(${sql.join(arrays)}) ${onConflict}`.execute(trx);
      return;
    }
    const perStatement = Math.floor(MAX_PARAMETERS / names.length);
    for (let i = 0; i < rows.length; i += perStatement) {
      const values: RawBuilder<unknown>[] = rows
        .slice(i, i + perStatement)
        .map((row) => sql`(${sql.join(row.map((value, c) => this.cell(value, columns[c]![1])))})`);
      await sql`${into} values ${sql.join(values)} ${onConflict}`.execute(trx);
    }
  }

  private async upsertDigests(trx: Transaction<unknown>, digests: Array<[string, string]>): Promise<void> {
    const into = sql`insert into ${sql.id(DIGEST_TABLE)} (${sql.id('sessionId')}, digest)`;
    const onConflict = sql`on conflict (${sql.id('sessionId')}) do update set digest = excluded.digest`;
    if (this.kind === 'postgres') {
      await sql`${into} select * from unnest(${digests.map(([id]) => id)}::text[], ${digests.map(([, d]) => d)}::text[]) ${onConflict}`.execute(trx);
      return;
    }
    for (let i = 0; i < digests.length; i += MAX_PARAMETERS / 2) {
      const values = digests.slice(i, i + MAX_PARAMETERS / 2).map(([id, digest]) => sql`(${id}, ${digest})`);
      await sql`${into} values ${sql.join(values)} ${onConflict}`.execute(trx);
    }
  }

  /** Every row of a mirrored table, for comparing with the export (tests) and for counts. */
  async rows(table: TableName): Promise<Array<Record<string, unknown>>> {
    const { key } = TABLE_DEFINITIONS[table];
    const result = await sql<Record<string, unknown>>`select * from ${sql.id(table)} order by ${sql.join(key.map((k) => sql.id(k)))}`.execute(this.db);
    return result.rows;
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
