import type { Kysely } from 'kysely';
import { sessionFacts } from '../../analytics/session-facts.js';
import { documentSize, exceededLimit, grownPastLimit, sessionLimitError, type DocumentSize } from '../../coaching/limits.js';
import type { ExportSession } from '../../contract/schemas.js';
import type { StoreAdapter } from '../adapter.js';
import { readSessionsById } from '../export-pages.js';
import type { Database } from '../schema.js';
import { spliceName } from './splice.js';
import { rewriteSessionStats, writeSessionStats } from './stats-rows.js';
import type { RenderedDocument } from './rendered.js';
import { meetingDateKept, rewriteDocuments, writeDocuments } from './write.js';

/**
 * Keeps the read model current: every helper here runs inside the caller's transaction (any Kysely
 * transaction of either database), renders through the one renderer (the portable path that
 * `exportPages` uses) and stores the result, moving each session in the change feed, together
 * with the session's stats row (the facts of the same document). A rename changes neither a
 * session's facts nor its row: the stats read names at query time.
 */

/** Sessions rendered per round: five queries each, whatever the number. */
const SESSIONS_PER_ROUND = 500;

/** The stored form of a rendered session: its JSON, exactly as JSON.stringify writes it. */
export function renderedDocument(session: ExportSession): RenderedDocument {
  const facts = sessionFacts(session);
  const json = JSON.stringify(session);
  const size = documentSize(session, json);
  return { sessionId: facts.sessionId, createdAt: facts.createdAt, meetingDate: facts.meetingDate, json, facts, size };
}

/**
 * What a rewrite stores: both, except while a migration builds one of them for the first time;
 * `limits`: whether the session size limits are enforced (every write, but not a migration's rebuild).
 */
interface Targets {
  documents: boolean;
  stats: boolean;
  limits?: boolean;
  /** Whether every document's row exists already (an edit in place), so it is updated rather than upserted. */
  existing?: boolean;
}

export const BOTH: Targets = { documents: true, stats: true, limits: true };

/** The sizes of these sessions' stored documents, before the caller's transaction rewrites them. */
async function storedSizes(trx: Kysely<Database>, adapter: StoreAdapter, orgId: string, ids: string[]): Promise<Map<string, DocumentSize>> {
  const rows = await trx
    .selectFrom('session_documents_full')
    .select(['session_id', 'doc'])
    .where('org_id', '=', orgId)
    .where(adapter.idIn('session_id', ids))
    .execute();
  return new Map(
    rows.map((row) => {
      const json = typeof row.doc === 'string' ? row.doc : row.doc.toString('utf8');
      return [row.session_id, documentSize(JSON.parse(json) as ExportSession, json)];
    }),
  );
}

/**
 * Refuses the write (a DomainError, so the transaction rolls back) when a document grows past a
 * session size limit. Called after the writes and before storing, with the sessions locked, so two
 * writers cannot both pass; the stored documents are read only for a document over a limit.
 */
async function enforceLimits(trx: Kysely<Database>, adapter: StoreAdapter, orgId: string, docs: RenderedDocument[]): Promise<void> {
  const over = docs.filter((d) => exceededLimit(d.size) !== null);
  if (over.length === 0) return;
  const before = await storedSizes(
    trx,
    adapter,
    orgId,
    over.map((d) => d.sessionId),
  );
  for (const d of over) {
    const kind = grownPastLimit(d.size, before.get(d.sessionId) ?? null);
    if (kind) throw sessionLimitError(d.sessionId, kind, d.size);
  }
}

/** Stores rendered sessions: their documents and their stats rows, in the caller's transaction. */
export async function storeRendered(
  trx: Kysely<Database>,
  adapter: StoreAdapter,
  orgId: string,
  docs: RenderedDocument[],
  targets: Targets = BOTH,
): Promise<void> {
  if (targets.limits) await enforceLimits(trx, adapter, orgId, docs);
  if (targets.documents) await (targets.existing ? rewriteDocuments : writeDocuments)(trx, adapter, orgId, docs);
  if (targets.stats && targets.existing)
    await rewriteSessionStats(
      trx,
      adapter.name,
      orgId,
      docs.map((d) => ({ facts: d.facts, meetingDateKept: meetingDateKept(d) })),
    );
  else if (targets.stats)
    await writeSessionStats(
      trx,
      adapter.name,
      orgId,
      docs.map((d) => d.facts),
    );
}

/** Rewrites the documents and stats rows of these sessions; ids of sessions that do not exist are ignored. */
export async function refreshSessionDocuments(
  trx: Kysely<Database>,
  adapter: StoreAdapter,
  orgId: string,
  sessionIds: string[],
  targets: Targets = BOTH,
): Promise<void> {
  const ids = [...new Set(sessionIds)].sort();
  for (let i = 0; i < ids.length; i += SESSIONS_PER_ROUND) {
    const round = ids.slice(i, i + SESSIONS_PER_ROUND);
    await adapter.lockSessionsForUpdate(trx, orgId, async () => round);
    const sessions = await readSessionsById(trx, adapter, orgId, round);
    await storeRendered(trx, adapter, orgId, sessions.map(renderedDocument), targets);
  }
}

/** Sessions that show this person's name: as form creator, coach, agent, or creator of a to-do on them. */
export async function sessionsShowingUser(trx: Kysely<Database>, orgId: string, userId: string): Promise<string[]> {
  const rows = await trx
    .selectFrom('coaching_sessions')
    .select('id')
    .where('org_id', '=', orgId)
    .where((eb) => eb.or([eb('form_creator_id', '=', userId), eb('coach_id', '=', userId), eb('agent_id', '=', userId)]))
    .union(
      trx
        .selectFrom('todo_sessions as l')
        .innerJoin('todos as t', (j) => j.onRef('t.org_id', '=', 'l.org_id').onRef('t.id', '=', 'l.item_id'))
        .select('l.session_id as id')
        .where('t.org_id', '=', orgId)
        .where('t.creator_id', '=', userId),
    )
    .execute();
  return rows.map((row) => row.id);
}

export async function sessionsOfTemplate(trx: Kysely<Database>, orgId: string, templateId: string): Promise<string[]> {
  const rows = await trx
    .selectFrom('coaching_sessions')
    .select('id')
    .where('org_id', '=', orgId)
    .where('template_id', '=', templateId)
    .execute();
  return rows.map((row) => row.id);
}

/** A person's or template's name by id, as the render joins it; null when there is none. */
export async function nameOf(
  trx: Kysely<Database>,
  table: 'users' | 'coaching_templates',
  orgId: string,
  id: string,
): Promise<string | null> {
  const row = await trx.selectFrom(table).select('name').where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
  return row?.name ?? null;
}

/**
 * After a person's name changed in `trx` (the only thing a document shows of a person besides the
 * id). Where the name stands at the top of a document (form creator, coach, agent) it is spliced in
 * set-based; sessions with a to-do the person created are rendered again whole. Neither way holds
 * the documents to SPEC §12's size limits: a rename is not a write to the sessions (it may come from
 * single sign-on or provisioning, which must not fail over some session near 2 MB), and a name grows
 * a document by a few hundred bytes for each place it stands.
 */
export async function refreshDocumentsShowingUser(
  trx: Kysely<Database>,
  adapter: StoreAdapter,
  orgId: string,
  userId: string,
): Promise<void> {
  const name = await nameOf(trx, 'users', orgId, userId);
  const todoSessions = await trx
    .selectFrom('todo_sessions as l')
    .innerJoin('todos as t', (j) => j.onRef('t.org_id', '=', 'l.org_id').onRef('t.id', '=', 'l.item_id'))
    .select('l.session_id')
    .distinct()
    .where('t.org_id', '=', orgId)
    .where('t.creator_id', '=', userId)
    .execute();
  if (name !== null) {
    await adapter.lockSessionsForUpdate(trx, orgId, () => sessionsShowingUser(trx, orgId, userId));
    await spliceName(trx, adapter, orgId, 'formCreatorName', name, { column: 'form_creator_id', id: userId });
    await spliceName(trx, adapter, orgId, 'coachName', name, { column: 'coach_id', id: userId });
    await spliceName(trx, adapter, orgId, 'agentName', name, { column: 'agent_id', id: userId });
  }
  await refreshSessionDocuments(
    trx,
    adapter,
    orgId,
    todoSessions.map((row) => row.session_id),
    { ...BOTH, limits: false },
  );
}

/** After a template's name changed in `trx`: the new name spliced into every document of it, set-based. */
export async function refreshDocumentsOfTemplate(
  trx: Kysely<Database>,
  adapter: StoreAdapter,
  orgId: string,
  templateId: string,
): Promise<void> {
  const name = await nameOf(trx, 'coaching_templates', orgId, templateId);
  if (name === null) return;
  await adapter.lockSessionsForUpdate(trx, orgId, () => sessionsOfTemplate(trx, orgId, templateId));
  await spliceName(trx, adapter, orgId, 'coachingTemplateName', name, { column: 'template_id', id: templateId });
}
