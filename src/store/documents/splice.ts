import { sql, type Kysely } from 'kysely';
import type { StoreAdapter } from '../adapter.js';
import type { Database } from '../schema.js';

/**
 * A rename fan-out as one set-based UPDATE: in each stored document the renderer's own text of
 * the name (JSON.stringify of the new value) replaces the old, between the field's key and the key
 * the renderer writes next. Rendering ten thousand sessions again costs seconds; this costs one
 * statement (each database's own, in its adapter). The read-model tests hold the result to the
 * portable rendering byte for byte.
 *
 * Why the first match is the field: the key text (`"coachName":`) cannot occur inside a string
 * value, where every quote is escaped, nor end one, since a value is never followed by a colon;
 * and these top-level fields come before every nested object, so nothing earlier has the key.
 * A document that shows the name already (an import's own, spliced again once it has committed)
 * is left as it is, in its place in the change feed.
 */
export type SplicedField = 'coachingTemplateName' | 'formCreatorName' | 'coachName' | 'agentName';

/** The key each field is followed by, in the renderer's order (coaching/documents.ts). */
const NEXT_KEY: Record<SplicedField, string> = {
  coachingTemplateName: 'meetingFormat',
  formCreatorName: 'coachName',
  coachName: 'coachId',
  agentName: 'createdAt',
};

/** The sessions whose documents show a template or a person in a given place. */
export type SplicedSessions = { column: 'template_id' | 'form_creator_id' | 'coach_id' | 'agent_id'; id: string };

export async function spliceName(
  trx: Kysely<Database>,
  adapter: StoreAdapter,
  orgId: string,
  field: SplicedField,
  name: string | null,
  where: SplicedSessions,
): Promise<void> {
  await adapter.spliceName(trx, orgId, {
    key: `"${field}":`,
    next: `,"${NEXT_KEY[field]}":`,
    value: JSON.stringify(name),
    column: sql.ref(`s.${where.column}`),
    id: where.id,
  });
}
