import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient, sql } from 'kysely';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { exceededLimit, sessionLimitError } from '../../coaching/limits.js';
import type { ImportPlan } from '../../importer/plan.js';
import { auditRow } from '../accounts-tx.js';
import { beforeCommit } from '../before-commit.js';
import { LateRenders } from '../documents/late-renders.js';
import { ImportCommittedWithStaleNames, type StreamedImportOptions } from '../store.js';
import { toError } from '../../to-error.js';
import { type ImportScope, refreshAfterImport, renamesOf, scopeBeforeImport } from '../documents/import-scope.js';
import { ImportedNames, recordNamesToSplice, spliceImportedNames } from '../documents/names-to-splice.js';
import { renderImportedSessions } from '../documents/render-plan.js';
import { asStored, documentJson } from '../documents/rendered.js';
import { DOCUMENT_CHANGED } from '../documents/write.js';
import { STATS_COLUMNS, statsValues } from '../documents/stats-rows.js';
import { IMPORT_UPDATES, importedUserRow, linkRow, logRow, pointRow, sessionRow, templateRow, todoRow } from '../rows.js';
import type { Database } from '../schema.js';
import { importLockKey, postgresAdapter } from './adapter.js';

/**
 * A streamed import on PostgreSQL in one transaction of one pooled connection, its rows through
 * COPY: the new rows of a batch (activity log entries, links, the sessions of an organization
 * that has none yet) straight into their tables, the rest (sessions, points and to-dos that may
 * exist, documents, stats rows) into temporary staging tables, then upserted from there in one
 * statement each. The documents of the import's own sessions are rendered from the plan (as on
 * SQLite) and move in the change feed like every other write's. Where the import may change other
 * sessions' documents (an organization with sessions already), the common scope and refresh run on
 * the same connection through Kysely.
 */
export async function postgresBulkImportBatches(
  pool: pg.Pool,
  orgId: string,
  batches: AsyncIterable<ImportPlan>,
  now: number,
  { audit, signal }: StreamedImportOptions = {},
): Promise<number> {
  const client = await pool.connect();
  const db = onConnection(client);
  const late = new LateRenders(postgresAdapter, orgId);
  const names = new ImportedNames();
  let sessions = 0;
  let locked = false;
  let committed = false;
  try {
    await client.query('begin');
    if (audit) await db.insertInto('audit_log').values(auditRow(orgId, audit)).execute();
    // Streamed imports of one organization take turns: two into an empty one would both COPY their
    // sessions straight in, and the second would fail on the first's instead of upserting them.
    // A rename is refused while this lock is held (StoreAdapter.lockNames). The session's, not the
    // transaction's: held on past the commit while the import's names are spliced again.
    // Set first: a wait cut short on this side (a query_timeout) may have been granted on the server's.
    locked = true;
    await client.query('select pg_advisory_lock(hashtext($1))', [importLockKey(orgId)]);
    // Sessions already stored are locked by the scope; a new organization's cannot be there.
    const fresh = await organizationEmpty(client, orgId);
    await createStaging(client);
    for await (const plan of batches) {
      // A new organization's documents are the import's own, rendered with the names it writes; its
      // people and templates may be there already, though, renamed while writes beside it show them.
      const scope: ImportScope = fresh ? NOTHING_STORED : await scopeBeforeImport(db, postgresAdapter, orgId, plan);
      await recordNamesToSplice(db, orgId, fresh ? await renamesOf(db, postgresAdapter, orgId, plan) : scope, names);
      await late.beforeBatch(db, plan);
      await writeRows(client, db, orgId, plan, now, fresh);
      await late.afterRows(db, plan);
      const docs = (plan.rendered ?? renderImportedSessions(plan, await namesAfter(client, orgId, plan))).map(asStored);
      for (const d of docs) {
        // An imported session is written whole, so it is held to the limits whatever it was before.
        const kind = exceededLimit(d.size);
        if (kind) throw sessionLimitError(d.sessionId, kind, d.size);
      }
      await copyRows(client, 'import_documents', DOCUMENT_COLUMNS, (push) => {
        docs.forEach((d, position) => {
          push([orgId, d.sessionId, d.createdAt, d.meetingDate, postgresAdapter.documentValue(documentJson(d)), position]);
        });
      });
      // Feed positions in the documents' order, as the row-by-row writer hands them out; a document
      // written whole drops an archived log (migration 010).
      await client.query(
        `insert into session_documents (org_id, session_id, created_at, meeting_date, doc, xid, seq)
         select org_id, session_id, created_at, meeting_date, doc, pg_current_xact_id(), nextval('session_documents_seq')
         from import_documents order by position
         on conflict (org_id, session_id) do update set created_at = excluded.created_at, meeting_date = excluded.meeting_date,
           doc = excluded.doc, xid = excluded.xid, seq = excluded.seq, log_archived = 0
         where ${DOCUMENT_CHANGED}`,
      );
      await copyRows(client, fresh ? 'session_stats' : 'import_stats', ['org_id', 'session_id', ...STATS_COLUMNS], (push) => {
        for (const d of docs) push(statsValues(orgId, d.facts));
      });
      if (!fresh) await upsertFrom(client, 'import_stats', 'session_stats', ['org_id', 'session_id'], STATS_COLUMNS);
      await client.query('truncate import_documents, import_stats');
      await refreshAfterImport(db, postgresAdapter, orgId, scope, new Set(plan.sessions.map(({ session }) => session.id)));
      sessions += plan.sessions.length;
    }
    await late.refresh(db);
    await beforeCommit(signal);
    await client.query('commit');
    committed = true;
    const stale = await spliceImportedNames(db, postgresAdapter, orgId, names, 'import');
    if (stale) throw new ImportCommittedWithStaleNames(stale, sessions);
    return sessions;
  } catch (error) {
    if (!committed) await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    late.close();
    // A connection that could not give the lock back goes with it, rather than hold it in the pool.
    const unlocked = locked
      ? await client.query('select pg_advisory_unlock(hashtext($1))', [importLockKey(orgId)]).then(() => undefined, toError)
      : undefined;
    client.release(unlocked);
    await db.destroy();
  }
}

const NOTHING_STORED: ImportScope = { sessions: new Set(), renamedUsers: [], renamedTemplates: [] };

const DOCUMENT_COLUMNS = ['org_id', 'session_id', 'created_at', 'meeting_date', 'doc', 'position'];

/** Kysely on this one connection, inside its transaction: what the common read-model code runs on. */
function onConnection(client: pg.PoolClient): Kysely<Database> {
  const connection = { query: client.query.bind(client), release: () => undefined } as unknown as PostgresPoolClient;
  const pool: PostgresPool = { connect: async () => connection, end: async () => undefined };
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/** Whether the organization has no sessions, points or to-dos: then every row the import writes is new. */
async function organizationEmpty(client: pg.PoolClient, orgId: string): Promise<boolean> {
  const tables = ['coaching_sessions', 'coaching_points', 'todos', 'session_documents'];
  const exists = tables.map((table) => `exists (select 1 from ${table} where org_id = $1)`).join(' or ');
  const { rows } = await client.query<{ any: boolean }>(`select (${exists}) as any`, [orgId]);
  return rows[0]?.any === false;
}

/** Staging tables shaped like their targets, dropped with the transaction. */
async function createStaging(client: pg.PoolClient): Promise<void> {
  await client.query(`
    create temp table import_sessions (like coaching_sessions) on commit drop;
    create temp table import_points (like coaching_points) on commit drop;
    create temp table import_todos (like todos) on commit drop;
    create temp table import_stats (like session_stats) on commit drop;
    create temp table import_documents (org_id text, session_id text, created_at bigint, meeting_date bigint, doc text, position integer)
      on commit drop;`);
}

/** COPY's text form of one value: `\N` for null, and the four characters it escapes. */
function copyValue(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  const text = String(value);
  return /[\\\n\r\t]/.test(text) ? text.replace(/[\\\n\r\t]/g, (c) => ESCAPES[c]!) : text;
}

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Up to this many characters of rows are sent to COPY at a time. */
const COPY_CHUNK_CHARS = 1 << 20;

/** COPY … FROM STDIN of the rows `fill` pushes (each its values in the order of `columns`). */
async function copyRows(
  client: pg.PoolClient,
  table: string,
  columns: readonly string[],
  fill: (push: (values: readonly unknown[]) => void) => void,
): Promise<void> {
  const chunks: string[] = [];
  let chunk = '';
  fill((values) => {
    let line = '';
    for (let i = 0; i < values.length; i++) line += (i === 0 ? '' : '\t') + copyValue(values[i]);
    chunk += `${line}\n`;
    if (chunk.length >= COPY_CHUNK_CHARS) {
      chunks.push(chunk);
      chunk = '';
    }
  });
  if (chunk) chunks.push(chunk);
  if (chunks.length === 0) return;
  await pipeline(Readable.from(chunks), client.query(copyFrom(`copy ${table} (${columns.join(', ')}) from stdin`)));
}

/** Rows built by rows.ts, COPYed by their keys' order (every row of a table comes from the same builder). */
async function copyObjects(client: pg.PoolClient, table: string, rows: object[]): Promise<string[]> {
  const first = rows[0];
  if (!first) return [];
  const columns = Object.keys(first);
  await copyRows(client, table, columns, (push) => {
    for (const row of rows) push(columns.map((column) => (row as Record<string, unknown>)[column]));
  });
  return columns;
}

/** From a staging table into its target: on a clash of `keys`, `update` replaces the stored columns. */
async function upsertFrom(client: pg.PoolClient, staging: string, target: string, keys: string[], update: readonly string[]) {
  await client.query(
    `insert into ${target} select * from ${staging}
     on conflict (${keys.join(', ')}) do update set ${update.map((c) => `${c} = excluded.${c}`).join(', ')}`,
  );
  await client.query(`truncate ${staging}`);
}

/** Rows with their columns, through a staging table and an upsert; like columns are those of the target. */
async function upsertRows(client: pg.PoolClient, staging: string, target: string, rows: object[]): Promise<void> {
  const columns = await copyObjects(client, staging, rows);
  if (columns.length === 0) return;
  const update = columns.filter((c) => c !== 'org_id' && c !== 'id');
  await client.query(
    `insert into ${target} (${columns.join(', ')}) select ${columns.join(', ')} from ${staging}
     on conflict (org_id, id) do update set ${update.map((c) => `${c} = excluded.${c}`).join(', ')}`,
  );
  await client.query(`truncate ${staging}`);
}

/**
 * The normalized rows of one batch. Sessions are unique in an import, so into an organization that
 * had none they are COPYed straight in (`direct`); points and to-dos may come again in a later
 * batch (listed under sessions of both), so they are always upserted. A replaced session's log and
 * links are cleared before the new ones go in, and so are the links of every item the batch writes.
 */
async function writeRows(client: pg.PoolClient, db: Kysely<Database>, orgId: string, plan: ImportPlan, now: number, direct: boolean) {
  // A few hundred people and templates at most a batch: upserted through Kysely, names only.
  for (const [table, rows] of [
    ['users', plan.users.map((u) => importedUserRow(orgId, u, now))],
    ['coaching_templates', plan.templates.map((t) => templateRow(orgId, t, now))],
  ] as const) {
    if (rows.length === 0) continue;
    await db
      .insertInto(table)
      .values(rows)
      .onConflict((oc) =>
        oc.columns(['org_id', 'id']).doUpdateSet(Object.fromEntries(IMPORT_UPDATES.map((c) => [c, sql.ref(`excluded.${c}`)]))),
      )
      .execute();
  }
  const sessionRows = plan.sessions.map(({ session }) => sessionRow(orgId, session));
  const sessionIds = plan.sessions.map(({ session }) => session.id);
  if (direct) await copyObjects(client, 'coaching_sessions', sessionRows);
  else {
    await upsertRows(client, 'import_sessions', 'coaching_sessions', sessionRows);
    for (const table of ['activity_log', 'coaching_point_sessions', 'todo_sessions']) {
      await client.query(`delete from ${table} where org_id = $1 and session_id = any($2::text[])`, [orgId, sessionIds]);
    }
  }
  await copyObjects(
    client,
    'activity_log',
    plan.sessions.flatMap(({ session, log }) => log.map((e) => logRow(orgId, session.id, e))),
  );
  await upsertRows(
    client,
    'import_points',
    'coaching_points',
    plan.points.map((p) => pointRow(orgId, p)),
  );
  await upsertRows(
    client,
    'import_todos',
    'todos',
    plan.todos.map((t) => todoRow(orgId, t)),
  );
  for (const [table, items] of [
    ['coaching_point_sessions', plan.points],
    ['todo_sessions', plan.todos],
  ] as const) {
    const ids = items.map((item) => item.id);
    if (ids.length > 0) await client.query(`delete from ${table} where org_id = $1 and item_id = any($2::text[])`, [orgId, ids]);
    await copyObjects(
      client,
      table,
      items.flatMap((item) => item.sessionIds.map((sessionId, position) => linkRow(orgId, item.id, sessionId, position))),
    );
  }
}

/** Every name an imported document shows, as the import leaves it: the batch's, else the stored one. */
async function namesAfter(client: pg.PoolClient, orgId: string, plan: ImportPlan) {
  const users = new Map(plan.users.map((u) => [u.id, u.name]));
  const templates = new Map(plan.templates.map((t) => [t.id, t.name]));
  const missingUsers = new Set<string>();
  const missingTemplates = new Set<string>();
  for (const { session } of plan.sessions) {
    for (const id of [session.formCreatorId, session.coachId, session.agentId]) if (!users.has(id)) missingUsers.add(id);
    if (session.templateId !== null && !templates.has(session.templateId)) missingTemplates.add(session.templateId);
  }
  for (const todo of plan.todos) if (!users.has(todo.creatorId)) missingUsers.add(todo.creatorId);
  for (const [table, missing, names] of [
    ['users', missingUsers, users],
    ['coaching_templates', missingTemplates, templates],
  ] as const) {
    if (missing.size === 0) continue;
    const { rows } = await client.query<{ id: string; name: string }>(
      `select id, name from ${table} where org_id = $1 and id = any($2::text[])`,
      [orgId, [...missing]],
    );
    for (const row of rows) names.set(row.id, row.name);
  }
  return { user: (id: string) => users.get(id) ?? '', template: (id: string) => templates.get(id) ?? '' };
}
