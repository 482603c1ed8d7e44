import type { Kysely } from 'kysely';
import { stateFlags, type SessionListQuery, type SessionSummaryRecord } from '../coaching/session-list.js';
import { flag } from './rows.js';
import type { Database } from './schema.js';

/**
 * One page of the sessions list, newest createdAt first, in keyset order over
 * (org_id, created_at, id) or the scope's own (org_id, coach/creator/agent, created_at, id) index:
 * a page costs the same at the end of a large organization as at its start.
 */
export async function listSessionSummaries(db: Kysely<Database>, orgId: string, query: SessionListQuery): Promise<SessionSummaryRecord[]> {
  const flags = stateFlags(query.state);
  const scope = query.scope;
  const before = query.before;
  const rows = await db
    .selectFrom('coaching_sessions as s')
    .leftJoin('users as coach', (j) => j.onRef('coach.org_id', '=', 's.org_id').onRef('coach.id', '=', 's.coach_id'))
    .leftJoin('users as agent', (j) => j.onRef('agent.org_id', '=', 's.org_id').onRef('agent.id', '=', 's.agent_id'))
    .leftJoin('coaching_templates as t', (j) => j.onRef('t.org_id', '=', 's.org_id').onRef('t.id', '=', 's.template_id'))
    .select([
      's.id',
      's.coaching_form_name',
      't.name as template_name',
      's.coach_id',
      'coach.name as coach_name',
      's.agent_id',
      'agent.name as agent_name',
      's.meeting_date',
      's.created_at',
      's.updated_at',
      's.shared_with_agent',
      's.agent_confirmed',
      's.coach_confirmed',
      's.is_deleted',
    ])
    .where('s.org_id', '=', orgId)
    .where((eb) => {
      if (scope.kind === 'coachOrCreator') return eb.or([eb('s.coach_id', '=', scope.userId), eb('s.form_creator_id', '=', scope.userId)]);
      if (scope.kind === 'sharedWithAgent')
        return eb.and([eb('s.agent_id', '=', scope.userId), eb('s.shared_with_agent', '=', flag(true))]);
      return eb.and([]);
    })
    .where('s.is_deleted', '=', flag(flags.isDeleted))
    .$if(flags.sharedWithAgent !== undefined, (q) => q.where('s.shared_with_agent', '=', flag(flags.sharedWithAgent!)))
    .$if(flags.agentConfirmed !== undefined, (q) => q.where('s.agent_confirmed', '=', flag(flags.agentConfirmed!)))
    .$if(flags.coachConfirmed !== undefined, (q) => q.where('s.coach_confirmed', '=', flag(flags.coachConfirmed!)))
    .$if(query.agentId !== null, (q) => q.where('s.agent_id', '=', query.agentId!))
    .$if(query.coachId !== null, (q) => q.where('s.coach_id', '=', query.coachId!))
    .$if(query.fromMs !== null, (q) => q.where('s.created_at', '>=', query.fromMs!))
    .$if(query.toMs !== null, (q) => q.where('s.created_at', '<=', query.toMs!))
    .$if(before !== null, (q) =>
      q.where((eb) =>
        eb.or([
          eb('s.created_at', '<', before!.createdAt),
          eb.and([eb('s.created_at', '=', before!.createdAt), eb('s.id', '<', before!.id)]),
        ]),
      ),
    )
    .orderBy('s.created_at', 'desc')
    .orderBy('s.id', 'desc')
    .limit(query.limit)
    .execute();
  return rows.map((row) => ({
    id: row.id,
    coachingFormName: row.coaching_form_name,
    templateName: row.template_name,
    coachId: row.coach_id,
    coachName: row.coach_name,
    agentId: row.agent_id,
    agentName: row.agent_name,
    meetingDate: row.meeting_date === null ? null : Number(row.meeting_date),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    sharedWithAgent: Boolean(row.shared_with_agent),
    agentConfirmed: Boolean(row.agent_confirmed),
    coachConfirmed: Boolean(row.coach_confirmed),
    isDeleted: Boolean(row.is_deleted),
  }));
}
