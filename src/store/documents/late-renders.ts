import type { Kysely } from 'kysely';
import type { ImportPlan } from '../../importer/plan.js';
import type { StoreAdapter } from '../adapter.js';
import type { Database, LinkTable } from '../schema.js';
import { ForeignLinks } from './foreign-links.js';
import { eachChunk } from './import-scope.js';
import { refreshSessionDocuments } from './refresh.js';

interface Item {
  id: string;
  sessionIds: string[];
}

/**
 * Documents an import renders again from the tables before it commits, where what it rendered from
 * the file would not be what the tables give, and the links a streamed import keeps across batches.
 *
 * Where the file's documents disagree about a shared point or to-do (one names a session whose own
 * document does not list it; a server's data changing between two windows of `--from-server` does
 * it), the item's coachingFormIds decide, as in one batch, so the result does not depend on where
 * batches begin or on the order of the documents:
 * - an item naming a session of an earlier batch links to it, and that session's document, written
 *   without the item, is rendered again;
 * - an item naming a session of a later batch keeps that link when the session comes without
 *   listing the item (its batch clears the session's links first), and the document is rendered again.
 * Only lookups by primary key run per batch (the secondary indexes of empty tables are built after
 * the rows), and the renders wait until the end. Kept for the whole import: every link to a session
 * outside its item's batch (shared items only), on disk (ForeignLinks, begun at the first); and in
 * memory the ids of the sessions to render again. `close` when the import ends, whichever way.
 */
export class LateRenders {
  /** The links items of other batches made to sessions, by session. */
  private foreign: ForeignLinks | null = null;
  private readonly stale = new Set<string>();

  constructor(
    private readonly adapter: StoreAdapter,
    private readonly orgId: string,
  ) {}

  /** Before the batch's rows are written. */
  async beforeBatch(trx: Kysely<Database>, plan: ImportPlan): Promise<void> {
    const tables = itemsByTable(plan);
    const sessions = sessionsOf(plan);
    const named = [...plan.points, ...plan.todos].flatMap((item) => item.sessionIds).filter((id) => !sessions.has(id));
    if (named.length === 0) return;
    const stored = new Set(await this.storedSessions(trx, [...new Set(named)]));
    for (const [table, items] of tables) {
      const shared = items.filter((item) => item.sessionIds.some((id) => !sessions.has(id)));
      if (shared.length === 0) continue;
      const linked = await this.links(
        trx,
        table,
        shared.map((item) => item.id),
      );
      this.foreign ??= new ForeignLinks();
      for (const item of shared) {
        item.sessionIds.forEach((sessionId, position) => {
          if (sessions.has(sessionId)) return;
          this.foreign!.note(sessionId, { table, itemId: item.id, position });
          if (stored.has(sessionId) && !linked.has(linkKey(item.id, sessionId))) this.stale.add(sessionId);
        });
      }
    }
  }

  /** After the batch's rows are written: links its sessions lost that items of other batches made. */
  async afterRows(trx: Kysely<Database>, plan: ImportPlan): Promise<void> {
    const inBatch = new Map(itemsByTable(plan).map(([table, items]) => [table, new Set(items.map((item) => item.id))]));
    if (this.foreign === null) return;
    for (const sessionId of sessionsOf(plan)) {
      const links = this.foreign.of(sessionId).filter((link) => !inBatch.get(link.table)!.has(link.itemId));
      if (links.length === 0) continue;
      for (const { table, itemId, position } of links) {
        await trx
          .insertInto(table)
          .values({ org_id: this.orgId, item_id: itemId, session_id: sessionId, position })
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
      this.stale.add(sessionId);
    }
  }

  /** After every batch is written and the indexes are built: the documents found stale, rendered from the tables. */
  async refresh(trx: Kysely<Database>): Promise<void> {
    if (this.stale.size > 0) await refreshSessionDocuments(trx, this.adapter, this.orgId, [...this.stale]);
  }

  /** The import has ended (committed or not): the links' temporary database goes. */
  close(): void {
    this.foreign?.close();
  }

  private async storedSessions(trx: Kysely<Database>, ids: string[]): Promise<string[]> {
    const rows = await eachChunk(ids, (chunk) =>
      trx.selectFrom('coaching_sessions').select('id').where('org_id', '=', this.orgId).where(this.adapter.idIn('id', chunk)).execute(),
    );
    return rows.map((row) => row.id);
  }

  /** The stored links of these items (by the primary key's leading columns), as linkKey strings. */
  private async links(trx: Kysely<Database>, table: LinkTable, itemIds: string[]): Promise<Set<string>> {
    const rows = await eachChunk(itemIds, (chunk) =>
      trx
        .selectFrom(table)
        .select(['item_id', 'session_id'])
        .where('org_id', '=', this.orgId)
        .where(this.adapter.idIn('item_id', chunk))
        .execute(),
    );
    return new Set(rows.map((row) => linkKey(row.item_id, row.session_id)));
  }
}

const linkKey = (a: string, b: string) => `${a}\u0000${b}`;
const sessionsOf = (plan: ImportPlan) => new Set(plan.sessions.map(({ session }) => session.id));
const itemsByTable = (plan: ImportPlan): Array<[LinkTable, Item[]]> => [
  ['coaching_point_sessions', plan.points],
  ['todo_sessions', plan.todos],
];
