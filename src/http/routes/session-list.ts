import type { FastifyInstance } from 'fastify';
import { readScope } from '../../coaching/permissions.js';
import type { SessionSummaryRecord } from '../../coaching/session-list.js';
import { SessionListQuerySchema, SessionListSchema, type SessionListQuery } from '../../contract/account-schemas.js';
import { isoOrNull, isoString } from '../../contract/dates.js';
import { ErrorSchema } from '../../contract/schemas.js';
import type { Store } from '../../store/store.js';
import { actorOf } from '../actor.js';
import { dayRange, decodeCursor, pageLimit, pageOf } from '../paging.js';

/** A session as the list shows it: the export's field names, without notes, points or log. */
function describeSummary(s: SessionSummaryRecord) {
  return {
    _id: s.id,
    coachingFormName: s.coachingFormName,
    coachingTemplateName: s.templateName,
    coachId: s.coachId,
    coachName: s.coachName,
    agentId: s.agentId,
    agentName: s.agentName,
    meetingDate: isoOrNull(s.meetingDate),
    createdAt: isoString(s.createdAt),
    updatedAt: isoString(s.updatedAt),
    sharedWithAgent: s.sharedWithAgent,
    agentConfirmed: s.agentConfirmed,
    coachConfirmed: s.coachConfirmed,
    isDeleted: s.isDeleted,
  };
}

export function sessionListRoutes(app: FastifyInstance, deps: { store: Store }): void {
  app.get<{ Querystring: SessionListQuery }>(
    '/api/v1/coaching/sessions',
    {
      schema: {
        summary: 'List coaching sessions, newest first, a page at a time',
        description:
          'Admins: every session; coaches: those they coach or created; agents: those shared with them. ' +
          'state: draft (not shared), shared (not yet agent-confirmed), acknowledged (agent-confirmed, not coach-confirmed), ' +
          'confirmed (both), deleted; absent: all not deleted. ' +
          "from/to filter createdAt by UTC day, inclusive. Pass the answer's cursor for the next page.",
        tags: ['Coaching sessions'],
        querystring: SessionListQuerySchema,
        response: { 200: SessionListSchema, '4xx': ErrorSchema },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const q = request.query;
      const limit = pageLimit(q.limit, 25, 100);
      const before = q.cursor === undefined ? null : decodeCursor<[number, string]>(q.cursor, ['number', 'string']);
      const rows = await deps.store.listSessions(actor.orgId, {
        scope: readScope(actor.user),
        state: q.state ?? null,
        agentId: q.agentId ?? null,
        coachId: q.coachId ?? null,
        ...dayRange(q.from, q.to),
        before: before && { createdAt: before[0], id: before[1] },
        limit: limit + 1,
      });
      const page = pageOf(rows, limit, (last) => [last.createdAt, last.id]);
      return { sessions: page.items.map(describeSummary), cursor: page.cursor, hasMore: page.hasMore };
    },
  );
}
