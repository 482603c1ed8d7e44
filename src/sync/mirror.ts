import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql, type RawBuilder, type Transaction } from 'kysely';
import pg from 'pg';
import { TABLE_DEFINITIONS, TABLE_NAMES, tableRows, type Cell, type ColumnType, type TableName } from '../client/tables.js';
import type { ExportSession } from '../contract/schemas.js';
import { ITEM_LINKS, type ItemLinks } from './item-links.js';
import { createStagingTables, writeSessionsPostgres } from './postgres-batch.js';
import { SyncError } from './sync-error.js';

/** The sync's own bookkeeping, beside the mirrored tables. */
const STATE_TABLE = 'coachport_sync_state';
/** A digest of each session's last applied document, so an unchanged document is not written again. */
const DIGEST_TABLE = 'coachport_sync_documents';

export type MirrorKind = 'postgres' | 'sqlite';
export type SyncState = Record<string, string>;

// The mirror's tables are described at run time from the shared table definitions, so its
// queries are untyped on purpose; nothing of that leaves this module.
// biome-ignore lint/suspicious/noExplicitAny: the mirror's tables are defined at run time (see above).
type AnyDb = Kysely<any>;

const SQL_TYPES: Record<MirrorKind, Record<ColumnType, string>> = {
  postgres: { text: 'text', boolean: 'boolean', timestamp: 'timestamptz', integer: 'integer' },
  // SQLite has no boolean or time type: 0/1 and ISO 8601 text, which sorts in time order.
  sqlite: { text: 'text', boolean: 'integer', timestamp: 'text', integer: 'integer' },
};

const anotherSync = (why: string) =>
  new SyncError(`Another sync is writing to this mirror (${why}); nothing of this page was written. Run one coachport sync per mirror.`);

/** Bound parameters per SQLite statement, under its limit of 32,766. */
const MAX_PARAMETERS = 30_000;

export function mirrorKindOf(target: string): MirrorKind {
  return /^postgres(ql)?:\/\//i.test(target) ? 'postgres' : 'sqlite';
}

export function digestOf(session: ExportSession): string {
  return createHash('sha256').update(JSON.stringify(session)).digest('base64url');
}

/** Digests worked out ahead, by document object (a received document is never changed). */
const precomputed = new WeakMap<ExportSession, string>();

/**
 * Works out the digests of documents before they are applied: the sync calls it for the next
 * page while the database writes the current one, so hashing is off the path of the writes.
 */
export function precomputeDigests(sessions: Iterable<ExportSession>): void {
  for (const session of sessions) precomputed.set(session, digestOf(session));
}

/**
 * The sessions of a batch to write, each once with its newest document (the last in the batch)
 * and that document's digest: those whose digest differs from the one applied before.
 */
async function changedSessions(
  batch: ExportSession[],
  knownDigests: (ids: string[]) => Promise<Array<{ sessionId: string; digest: string }>>,
): Promise<Array<[ExportSession, string]>> {
  if (batch.length === 0) return [];
  const latest = new Map(batch.map((s) => [s._id, s]));
  const known = new Map((await knownDigests([...latest.keys()])).map((row) => [row.sessionId, row.digest]));
  const changed: Array<[ExportSession, string]> = [];
  for (const session of latest.values()) {
    const digest = precomputed.get(session) ?? digestOf(session);
    if (known.get(session._id) !== digest) changed.push([session, digest]);
  }
  return changed;
}

/**
 * A database that holds the export's tables (the CSV export's names and columns, typed) and keeps
 * them equal to the server's current documents, one transaction per page.
 */
export class Mirror {
  /**
   * The state as this process last read it (`readState`) or wrote it (`apply`). A page is applied
   * only over that state: two syncs into one mirror would otherwise interleave, and a page fetched
   * earlier by one could put older documents back after the other had moved the cursor past them.
   */
  private known: SyncState | null = null;

  private constructor(
    readonly kind: MirrorKind,
    private readonly db: AnyDb,
    /** PostgreSQL's pool (also Kysely's): pages are written on one of its clients, with COPY. */
    private readonly pool: pg.Pool | null,
    private readonly busyTimeoutMs: number,
  ) {}

  /**
   * `busyTimeoutMs`: how long a SQLite mirror waits for another writer's lock before a page gives
   * up (better-sqlite3 waits synchronously, so a sync in the same process as the other writer
   * stands still meanwhile).
   */
  static async open(target: string, { busyTimeoutMs = 5000 }: { busyTimeoutMs?: number } = {}): Promise<Mirror> {
    const kind = mirrorKindOf(target);
    let db: AnyDb;
    let pool: pg.Pool | null = null;
    if (kind === 'postgres') {
      pool = new pg.Pool({ connectionString: target, max: 2 });
      // A dropped connection fails the query in progress; it must not crash the process.
      pool.on('error', () => undefined);
      pool.on('connect', (client) => client.on('error', () => undefined));
      db = new Kysely({ dialect: new PostgresDialect({ pool }) });
    } else {
      const file = target.replace(/^(sqlite|file):(\/\/)?/i, '');
      fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      const database = new BetterSqlite3(file);
      database.pragma(`busy_timeout = ${busyTimeoutMs}`);
      // A committed page survives the process being killed: it is in the WAL.
      database.pragma('journal_mode = WAL');
      database.pragma('synchronous = NORMAL');
      db = new Kysely({ dialect: new SqliteDialect({ database }) });
    }
    const mirror = new Mirror(kind, db, pool, busyTimeoutMs);
    await mirror.createTables();
    return mirror;
  }

  private async createTables(): Promise<void> {
    const types = SQL_TYPES[this.kind];
    for (const table of TABLE_NAMES) {
      const { columns, key } = TABLE_DEFINITIONS[table];
      const definitions = columns.map(
        ([name, type]) => sql`${sql.id(name)} ${sql.raw(types[type])}${key.includes(name) ? sql.raw(' not null') : sql.raw('')}`,
      );
      await sql`create table if not exists ${sql.id(table)}
        (${sql.join(definitions)}, primary key (${sql.join(key.map((k) => sql.id(k)))}))`.execute(this.db);
    }
    // Link rows are replaced by session as well as by record.
    for (const table of ['coaching_point_sessions', 'todo_sessions'] as const) {
      await sql`create index if not exists ${sql.id(`${table}_session`)} on ${sql.id(table)} (${sql.id('sessionId')})`.execute(this.db);
    }
    await sql`create table if not exists ${sql.id(STATE_TABLE)} (key text primary key, value text not null)`.execute(this.db);
    await sql`create table if not exists ${sql.id(DIGEST_TABLE)} (${sql.id('sessionId')} text primary key, digest text not null)`.execute(
      this.db,
    );
  }

  /** The mirror's state (server, mode, cursor, days covered); what the run's pages build on. */
  async readState(): Promise<SyncState> {
    this.known = await this.stateIn(this.db);
    return this.known;
  }

  private async stateIn(db: AnyDb | Transaction<unknown>): Promise<SyncState> {
    const rows = await sql<{ key: string; value: string }>`select key, value from ${sql.id(STATE_TABLE)}`.execute(db);
    return Object.fromEntries(rows.rows.map((r) => [r.key, r.value]));
  }

  /** Inside the page's transaction, after it holds the state table's write lock. */
  private assertUnmoved(current: SyncState, state: SyncState): void {
    const known = this.known;
    if (known === null) return;
    const moved = Object.keys(state).find((key) => current[key] !== known[key]);
    if (moved !== undefined) {
      throw anotherSync(`its ${moved} changed while this one ran`);
    }
  }

  /**
   * Applies sessions and the state that goes with them (the cursor) in one transaction, writing
   * only documents that differ from the ones applied before. Returns how many sessions were
   * written; when none were and the state is unchanged, nothing at all is written.
   */
  async apply(sessions: AsyncIterable<ExportSession> | Iterable<ExportSession>, state: SyncState, batchSize = 1000): Promise<number> {
    if (this.pool !== null) return this.applyPostgres(this.pool, sessions, state, batchSize);
    const { written, after } = await this.db.transaction().execute(async (trx) => {
      // A write first, so the transaction holds SQLite's write lock before it reads the state
      // (as BEGIN IMMEDIATE would): no other sync can commit between that read and this commit.
      try {
        await sql`delete from ${sql.id(STATE_TABLE)} where 0 = 1`.execute(trx);
      } catch (error) {
        if (error instanceof Error && 'code' in error && error.code === 'SQLITE_BUSY')
          throw anotherSync(`it has held the write lock for over ${this.busyTimeoutMs} ms`);
        throw error;
      }
      const current = await this.stateIn(trx);
      this.assertUnmoved(current, state);
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
        await sql`insert into ${sql.id(STATE_TABLE)} (key, value) values (${key}, ${value})
          on conflict (key) do update set value = excluded.value`.execute(trx);
      }
      return { written, after: { ...current, ...state } };
    });
    this.known = after;
    return written;
  }

  /**
   * PostgreSQL: the same transaction on one client of the pool, written by `writeSessionsPostgres`
   * (COPY, a few statements per table and batch) instead of Kysely's bound parameters.
   */
  private async applyPostgres(
    pool: pg.Pool,
    sessions: AsyncIterable<ExportSession> | Iterable<ExportSession>,
    state: SyncState,
    batchSize: number,
  ): Promise<number> {
    const client = await pool.connect();
    let failed: Error | undefined;
    try {
      await createStagingTables(client);
      // One round trip for the transaction's settings (a simple query may hold several statements).
      // - A page and its cursor commit together, so if the database server loses its last commits
      //   in a crash it loses both, and the next run fetches them again: the commit need not wait
      //   for the disk.
      // - Every statement of a page finds its rows by key. A mirror being filled has no statistics
      //   until autovacuum analyzes it, and without them the planner takes `= any(1,000 ids)` to
      //   match nearly every row and scans the whole table for each page's deletes: quadratic in a
      //   full sync (30 s of 140 at 100,000 sessions on activity_log alone).
      // - That setting prices the staging tables' scans so high that PostgreSQL would compile each
      //   merge with JIT (a quarter of a second, for statements of a few milliseconds).
      // - The state table's lock (readers pass) serializes pages of concurrent syncs, and the state
      //   is read after it, so it is the last committed one (see `known`).
      await client.query(
        'begin; set local synchronous_commit = off; set local enable_seqscan = off; set local jit = off; ' +
          `lock table ${STATE_TABLE} in exclusive mode`,
      );
      const current = Object.fromEntries(
        (await client.query<{ key: string; value: string }>(`select key, value from ${STATE_TABLE}`)).rows.map((r) => [r.key, r.value]),
      );
      this.assertUnmoved(current, state);
      let written = 0;
      let batch: ExportSession[] = [];
      const flush = async () => {
        const changed = await changedSessions(
          batch,
          async (ids) =>
            (
              await client.query<{ sessionId: string; digest: string }>(
                `select "sessionId", digest from ${DIGEST_TABLE} where "sessionId" = any($1::text[])`,
                [ids],
              )
            ).rows,
        );
        batch = [];
        if (changed.length === 0) return;
        await writeSessionsPostgres(
          client,
          changed.map(([session]) => session),
        );
        await client.query(
          `insert into ${DIGEST_TABLE} ("sessionId", digest) select * from unnest($1::text[], $2::text[]) ` +
            'on conflict ("sessionId") do update set digest = excluded.digest',
          [changed.map(([s]) => s._id), changed.map(([, d]) => d)],
        );
        written += changed.length;
      };
      for await (const session of sessions) {
        batch.push(session);
        if (batch.length >= batchSize) await flush();
      }
      await flush();
      for (const [key, value] of Object.entries(state)) {
        if (current[key] !== value)
          await client.query(
            `insert into ${STATE_TABLE} (key, value) values ($1, $2) on conflict (key) do update set value = excluded.value`,
            [key, value],
          );
      }
      await client.query('commit');
      this.known = { ...current, ...state };
      return written;
    } catch (error) {
      failed = error as Error;
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      // A client that failed mid-statement (a COPY cut short) is closed rather than reused.
      client.release(failed);
    }
  }

  /** SQLite: bound parameters through Kysely, in statements of at most MAX_PARAMETERS. */
  private async applyBatch(trx: Transaction<unknown>, batch: ExportSession[]): Promise<number> {
    const changed = await changedSessions(
      batch,
      async (ids) =>
        (
          await sql<{
            sessionId: string;
            digest: string;
          }>`select ${sql.id('sessionId')}, digest from ${sql.id(DIGEST_TABLE)} where ${sql.id('sessionId')} in (${sql.join(ids)})`.execute(
            trx,
          )
        ).rows,
    );
    if (changed.length === 0) return 0;
    const latest = new Map(changed.map(([session]) => [session._id, session]));
    const digests = new Map(changed.map(([session, digest]) => [session._id, digest]));

    const sessions = [...latest.values()];
    const ids = sessions.map((s) => s._id);
    const rows = tableRows(sessions);
    // A session's children are replaced by its current ones: its log, and its links (a point no
    // longer linked to it loses that link; the point's own row stays, flagged as the server says,
    // unless no session lists it any more: see ITEM_LINKS).
    await this.deleteWhereIn(trx, 'activity_log', 'sessionId', ids);
    const unlinked: string[][] = [];
    for (const item of ITEM_LINKS) {
      unlinked.push([...new Set(await this.deleteWhereIn(trx, item.links, 'sessionId', ids, item.column))]);
      await this.deleteWhereIn(
        trx,
        item.links,
        item.column,
        rows[item.table].map((r) => r[0] as string),
      );
    }
    for (const table of TABLE_NAMES) await this.upsert(trx, table, rows[table]);
    for (const [i, item] of ITEM_LINKS.entries()) await this.dropUnlisted(trx, item, unlinked[i]!);
    await this.upsertDigests(trx, [...digests]);
    return sessions.length;
  }

  /** Of these points or to-dos, those no session lists any more. */
  private async dropUnlisted(trx: Transaction<unknown>, item: ItemLinks, itemIds: string[]): Promise<void> {
    const [table, links] = [sql.id(item.table), sql.id(item.links)];
    for (let i = 0; i < itemIds.length; i += MAX_PARAMETERS) {
      const chunk = itemIds.slice(i, i + MAX_PARAMETERS);
      await sql`delete from ${table} where ${sql.id('_id')} in (${sql.join(chunk)})
        and not exists (select 1 from ${links} where ${links}.${sql.id(item.column)} = ${table}.${sql.id('_id')})`.execute(trx);
    }
  }

  /** Deletes the rows whose `column` is one of `values`; answers the deleted rows' `returning` column, if named. */
  private async deleteWhereIn(
    trx: Transaction<unknown>,
    table: TableName,
    column: string,
    values: string[],
    returning?: string,
  ): Promise<string[]> {
    const gone: string[] = [];
    for (let i = 0; i < values.length; i += MAX_PARAMETERS) {
      const chunk = values.slice(i, i + MAX_PARAMETERS);
      const answer = returning ? sql`returning ${sql.id(returning)} as v` : sql``;
      const { rows } = await sql<{
        v: string;
      }>`delete from ${sql.id(table)} where ${sql.id(column)} in (${sql.join(chunk)}) ${answer}`.execute(trx);
      for (const row of rows) gone.push(row.v);
    }
    return gone;
  }

  private cell(value: Cell, type: ColumnType): unknown {
    if (value === null) return null;
    return type === 'boolean' ? (value ? 1 : 0) : value;
  }

  private async upsert(trx: Transaction<unknown>, table: TableName, rows: Cell[][]): Promise<void> {
    if (rows.length === 0) return;
    const { columns, key } = TABLE_DEFINITIONS[table];
    const names = columns.map(([name]) => name);
    const rest = names.filter((n) => !key.includes(n));
    const into = sql`insert into ${sql.id(table)} (${sql.join(names.map((n) => sql.id(n)))})`;
    const updates = rest.map((n) => sql`${sql.id(n)} = excluded.${sql.id(n)}`);
    const onConflict = sql`on conflict (${sql.join(key.map((k) => sql.id(k)))}) do update set ${sql.join(updates)}`;
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
    for (let i = 0; i < digests.length; i += MAX_PARAMETERS / 2) {
      const values = digests.slice(i, i + MAX_PARAMETERS / 2).map(([id, digest]) => sql`(${id}, ${digest})`);
      await sql`${into} values ${sql.join(values)} ${onConflict}`.execute(trx);
    }
  }

  /** Every row of a mirrored table, for comparing with the export (tests) and for counts. */
  async rows(table: TableName): Promise<Array<Record<string, unknown>>> {
    const { key } = TABLE_DEFINITIONS[table];
    const result = await sql<
      Record<string, unknown>
    >`select * from ${sql.id(table)} order by ${sql.join(key.map((k) => sql.id(k)))}`.execute(this.db);
    return result.rows;
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
