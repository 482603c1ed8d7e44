import type { Kysely } from 'kysely';
import type { ExportSession } from '../../src/contract/schemas.js';
import type { Database } from '../../src/store/schema.js';
import { acknowledgementMs } from './stats-oracle.js';

/**
 * The stats rows (migration 005) as stored, and as they should be for a set of export documents,
 * in one plain form to compare: written here from the documents without the code that writes the
 * rows (only the acknowledgement time is the oracle's).
 */
export type StatsRowView = Record<string, string | number | boolean | null>;

/** Code-unit order in JavaScript: the databases' collations differ. */
const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export async function storedStatsRows(db: Kysely<Database>, orgId: string): Promise<StatsRowView[]> {
  const rows = await db.selectFrom('session_stats').selectAll().where('org_id', '=', orgId).execute();
  rows.sort((a, b) => byId(a.session_id, b.session_id));
  return rows.map(({ org_id: _org, ...row }) => ({
    ...row,
    created_at: Number(row.created_at),
    meeting_date: row.meeting_date === null ? null : Number(row.meeting_date),
    is_deleted: Boolean(row.is_deleted),
    shared_with_agent: Boolean(row.shared_with_agent),
    agent_confirmed: Boolean(row.agent_confirmed),
    coach_confirmed: Boolean(row.coach_confirmed),
    acknowledgement_ms: row.acknowledgement_ms === null ? null : Number(row.acknowledgement_ms),
  }));
}

export function expectedStatsRows(docs: ExportSession[]): StatsRowView[] {
  return [...docs]
    .sort((a, b) => byId(a._id, b._id))
    .map((d) => {
      const points = d.coachingPoints.filter((p) => !p.isDeleted);
      const todos = d.todos.filter((t) => !t.isDeleted);
      const of = (classification: string) => points.filter((p) => p.classification === classification).length;
      return {
        session_id: d._id,
        created_at: Date.parse(d.createdAt),
        meeting_date: d.meetingDate === null ? null : Date.parse(d.meetingDate),
        template_id: d.coachingTemplateId,
        form_creator_id: d.formCreatorId,
        coach_id: d.coachId,
        agent_id: d.agentId,
        is_deleted: d.isDeleted,
        shared_with_agent: d.sharedWithAgent,
        agent_confirmed: d.agentConfirmed,
        coach_confirmed: d.coachConfirmed,
        points: points.length,
        strengths: points.filter((p) => p.type === 'strength').length,
        opportunities: points.filter((p) => p.type === 'opportunity').length,
        general: of('general'),
        qa: of('qa'),
        csat: of('csat'),
        productivity: of('productivity'),
        todos: todos.length,
        todos_completed: todos.filter((t) => t.status === 'complete').length,
        acknowledgement_ms: acknowledgementMs(d),
      };
    });
}
