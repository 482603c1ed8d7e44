import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { TABLE_DEFINITIONS, tableRows, type Cell, type TableName } from '../client/tables.js';
import type { ExportSession } from '../contract/schemas.js';
import { copyText } from './copy-text.js';
import { ITEM_LINKS } from './item-links.js';

const id = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Tables whose rows of a batch are all deleted before the batch's rows go in (a session's log, and
 * the links of its sessions, points and to-dos): nothing can conflict, so COPY writes them as they are.
 */
const REPLACED: readonly TableName[] = ['activity_log', 'coaching_point_sessions', 'todo_sessions'];
/**
 * Records that keep their row and have it updated in place (a point or to-do is shared by several
 * sessions and met again on later pages): COPY into a temporary table, then one INSERT … ON CONFLICT
 * DO UPDATE per table, the same upsert the mirror always made, so rows are updated, never deleted.
 */
const UPSERTED: readonly TableName[] = ['sessions', 'coaching_points', 'todos'];

const stageOf = (table: TableName) => `coachport_stage_${table}`;
const columnList = (table: TableName) => TABLE_DEFINITIONS[table].columns.map(([name]) => id(name)).join(', ');

async function copyInto(client: pg.PoolClient, table: string, columns: string, rows: Cell[][]): Promise<void> {
  if (rows.length === 0) return;
  await pipeline(Readable.from(copyText(rows)), client.query(copyFrom(`copy ${id(table)} (${columns}) from stdin`)));
}

/** The pool's clients that already have their staging tables. */
const staged = new WeakSet<pg.PoolClient>();

/**
 * The temporary staging tables, once per connection (a temporary table lives as long as its
 * session); emptied after each merge and at every commit, so a transaction always finds them empty.
 */
export async function createStagingTables(client: pg.PoolClient): Promise<void> {
  if (staged.has(client)) return;
  for (const table of UPSERTED) {
    await client.query(`create temporary table if not exists ${id(stageOf(table))} (like ${id(table)}) on commit delete rows`);
  }
  staged.add(client);
}

/**
 * Writes sessions (each once, the newest document) and their records in the open transaction of
 * `client`: a few statements per table whatever the number of rows, and the rows streamed in
 * COPY's text format rather than bound as parameters.
 */
export async function writeSessionsPostgres(client: pg.PoolClient, sessions: ExportSession[]): Promise<void> {
  const rows = tableRows(sessions);
  const ids = sessions.map((s) => s._id);
  // A session's children are replaced by its current ones: its log, and its links (a point no
  // longer linked to it loses that link; the point's own row stays, flagged as the server says,
  // unless no session lists it any more: see ITEM_LINKS).
  await client.query(`delete from "activity_log" where "sessionId" = any($1::text[])`, [ids]);
  const unlinked: string[][] = [];
  for (const item of ITEM_LINKS) {
    const itemIds = rows[item.table].map((r) => r[0] as string);
    const { rows: gone } = await client.query<{ id: string }>(
      `delete from ${id(item.links)} where "sessionId" = any($1::text[]) or ${id(item.column)} = any($2::text[]) ` +
        `returning ${id(item.column)} as id`,
      [ids, itemIds],
    );
    unlinked.push([...new Set(gone.map((r) => r.id))]);
  }
  for (const table of REPLACED) await copyInto(client, table, columnList(table), rows[table]);
  for (const table of UPSERTED) {
    if (rows[table].length === 0) continue;
    const { columns, key } = TABLE_DEFINITIONS[table];
    const names = columnList(table);
    const updates = columns.filter(([name]) => !key.includes(name)).map(([name]) => `${id(name)} = excluded.${id(name)}`);
    await copyInto(client, stageOf(table), names, rows[table]);
    await client.query(
      `insert into ${id(table)} (${names}) select ${names} from ${id(stageOf(table))} ` +
        `on conflict (${key.map(id).join(', ')}) do update set ${updates.join(', ')}`,
    );
    await client.query(`truncate ${id(stageOf(table))}`);
  }
  for (const [i, item] of ITEM_LINKS.entries()) {
    if (unlinked[i]!.length === 0) continue;
    await client.query(
      `delete from ${id(item.table)} where "_id" = any($1::text[]) ` +
        `and not exists (select 1 from ${id(item.links)} where ${id(item.links)}.${id(item.column)} = ${id(item.table)}."_id")`,
      [unlinked[i]],
    );
  }
}
