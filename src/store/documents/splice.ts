import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Dialect } from '../dialect.js';
import type { Database } from '../schema.js';
import { nextSqliteSeq } from './write.js';

/**
 * A rename fan-out as one set-based UPDATE: in each stored document the renderer's own text of
 * the name (JSON.stringify of the new value) replaces the old, between the field's key and the key
 * the renderer writes next. Rendering ten thousand sessions again costs seconds; this costs one
 * statement. The read-model tests hold the result to the portable rendering byte for byte.
 *
 * Why the first match is the field: the key text (`"coachName":`) cannot occur inside a string
 * value, where every quote is escaped, nor end one, since a value is never followed by a colon;
 * and these top-level fields come before every nested object, so nothing earlier has the key.
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
  dialect: Dialect,
  orgId: string,
  field: SplicedField,
  name: string | null,
  where: SplicedSessions,
): Promise<void> {
  const key = `"${field}":`;
  const next = `,"${NEXT_KEY[field]}":`;
  const value = JSON.stringify(name);
  const column = sql.ref(`s.${where.column}`);
  if (dialect === 'postgres') {
    const spliced: RawBuilder<string> = sql`substr(d.doc, 1, strpos(d.doc, ${key}) + ${key.length - 1}) || ${value} || substr(d.doc, strpos(d.doc, ${next}))`;
    await sql`
      update session_documents d
      set doc = ${spliced}, xid = pg_current_xact_id(), seq = nextval('session_documents_seq')
      from coaching_sessions s
      where s.org_id = ${orgId} and ${column} = ${where.id} and d.org_id = s.org_id and d.session_id = s.id`.execute(trx);
    return;
  }
  // SQLite: instr counts bytes only when both sides are BLOBs, as substr does on a BLOB; || yields
  // text, cast back to the stored BLOB.
  const spliced = sql`cast(substr(d.doc, 1, instr(d.doc, cast(${key} as blob)) + ${key.length - 1}) || ${value} || substr(d.doc, instr(d.doc, cast(${next} as blob))) as blob)`;
  const base = (await nextSqliteSeq(trx, orgId)) - 1;
  await sql`
    with targets as (
      select s.id, row_number() over (order by s.id) as n from coaching_sessions s
      where s.org_id = ${orgId} and ${column} = ${where.id})
    update session_documents as d
    set doc = ${spliced}, seq = ${base} + targets.n
    from targets
    where d.org_id = ${orgId} and d.session_id = targets.id`.execute(trx);
}
