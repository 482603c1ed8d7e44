import type { Kysely } from 'kysely';
import type { ImportPlan } from '../../importer/plan.js';
import type { StoreAdapter } from '../adapter.js';
import type { Database, LinkTable } from '../schema.js';
import { hasLoneSurrogate, LONE_SURROGATE } from './document-text.js';
import { eachChunk } from './import-scope.js';
import { refreshSessionDocuments } from './refresh.js';
import { documentJson, type StoredDocument } from './rendered.js';

interface Item {
  id: string;
  sessionIds: string[];
}

/**
 * Documents an import renders again from the tables before it commits, where what it rendered from
 * the file would not be what the tables give.
 *
 * A text holding a lone surrogate (half of a UTF-16 pair, which JSON can escape but UTF-8 cannot
 * hold): both databases store the replacement character instead, as the coaching API's writes do
 * (coaching-tx.ts), so the document is rendered from what they stored.
 *
 * Into an organization with nothing stored, a streamed import skips the scope of other documents
 * (import-scope.ts): none is stored but those of its own earlier batches. Those can still change
 * when the file's documents disagree about a shared point or to-do (one names a session whose own
 * document does not list it; a server's live data changing between two windows does it). The
 * later document wins, as into an organization with sessions:
 * - an item of this batch naming a session of an earlier batch links to it: that session's
 *   document, rendered without the item, is rendered again before the commit;
 * - a session of this batch that does not list an item of an earlier batch naming it drops that
 *   link: the documents of the item's other sessions, which showed the link, are rendered again.
 * Only lookups by primary key run per batch (the secondary indexes are built after the rows), and
 * the renders wait until the end. Held in memory: the links to sessions not yet imported (shared
 * items only), which stay for sessions the file never brings.
 */
export class LateRenders {
  /** Session id → the links to it, written by an earlier batch before the session was stored. */
  private readonly pending = new Map<string, Array<{ table: LinkTable; itemId: string }>>();
  private readonly stale = new Set<string>();

  constructor(
    private readonly adapter: StoreAdapter,
    private readonly orgId: string,
  ) {}

  /** Before the batch's rows are written, into an organization that had nothing stored (above). */
  async beforeBatch(trx: Kysely<Database>, plan: ImportPlan): Promise<void> {
    const sessions = new Set(plan.sessions.map(({ session }) => session.id));
    await this.dropUnlisted(trx, sessions, { coaching_point_sessions: plan.points, todo_sessions: plan.todos });
    const foreign = [...plan.points, ...plan.todos].flatMap((item) => item.sessionIds).filter((id) => !sessions.has(id));
    if (foreign.length === 0) return;
    const stored = new Set(await this.storedSessions(trx, [...new Set(foreign)]));
    for (const [table, items] of [
      ['coaching_point_sessions', plan.points],
      ['todo_sessions', plan.todos],
    ] as const) {
      const shared = items.filter((item) => item.sessionIds.some((id) => !sessions.has(id)));
      if (shared.length === 0) continue;
      const linked = await this.links(
        trx,
        table,
        shared.map((item) => item.id),
      );
      for (const item of shared) {
        for (const sessionId of item.sessionIds) {
          if (sessions.has(sessionId)) continue;
          if (!stored.has(sessionId)) this.remember(sessionId, table, item.id);
          else if (!linked.has(linkKey(item.id, sessionId))) this.stale.add(sessionId);
        }
      }
    }
  }

  /** After the batch's documents are rendered: those holding a lone surrogate. */
  afterRender(docs: readonly StoredDocument[]): void {
    for (const d of docs) {
      const json = documentJson(d);
      if (
        typeof json === 'string'
          ? hasLoneSurrogate(json)
          : Buffer.from(json.buffer, json.byteOffset, json.byteLength).includes(LONE_SURROGATE)
      ) {
        this.stale.add(d.sessionId);
      }
    }
  }

  /** After every batch is written and the indexes are built: the documents found stale, rendered from the tables. */
  async refresh(trx: Kysely<Database>): Promise<void> {
    if (this.stale.size > 0) await refreshSessionDocuments(trx, this.adapter, this.orgId, [...this.stale]);
  }

  private async dropUnlisted(trx: Kysely<Database>, sessions: Set<string>, items: Record<LinkTable, Item[]>): Promise<void> {
    const listed = {
      coaching_point_sessions: new Set(items.coaching_point_sessions.map((item) => item.id)),
      todo_sessions: new Set(items.todo_sessions.map((item) => item.id)),
    };
    for (const sessionId of sessions) {
      const links = this.pending.get(sessionId);
      if (!links) continue;
      this.pending.delete(sessionId);
      for (const { table, itemId } of links) {
        if (listed[table].has(itemId)) continue;
        await trx
          .deleteFrom(table)
          .where('org_id', '=', this.orgId)
          .where('item_id', '=', itemId)
          .where('session_id', '=', sessionId)
          .execute();
        const others = await trx
          .selectFrom(table)
          .select('session_id')
          .where('org_id', '=', this.orgId)
          .where('item_id', '=', itemId)
          .execute();
        for (const row of others) this.stale.add(row.session_id);
      }
    }
  }

  private remember(sessionId: string, table: LinkTable, itemId: string): void {
    const links = this.pending.get(sessionId);
    if (!links) this.pending.set(sessionId, [{ table, itemId }]);
    else if (!links.some((link) => link.table === table && link.itemId === itemId)) links.push({ table, itemId });
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

const linkKey = (itemId: string, sessionId: string) => `${itemId}\u0000${sessionId}`;
