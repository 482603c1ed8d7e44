import type { FastifyInstance } from 'fastify';
import { coachingStats } from '../../analytics/stats.js';
import { ErrorSchema } from '../../contract/schemas.js';
import { StatsQuerySchema, StatsResponseSchema, type StatsQuery } from '../../contract/stats-schemas.js';
import type { Store } from '../../store/store.js';
import { actorOf } from '../actor.js';

export function statsRoutes(app: FastifyInstance, deps: { store: Store }): void {
  app.get<{ Querystring: StatsQuery }>(
    '/api/v1/coaching/stats',
    {
      schema: {
        summary: 'Coaching analytics',
        description:
          'Counts and rates over the sessions whose timeAxis date falls in the window of whole UTC days ' +
          '(both ends inclusive, at most 366 days apart) and that are not deleted, with their points and to-dos that are not deleted, ' +
          'each once per session link. Admins see the organization, coaches the sessions they coach or created, ' +
          'agents the sessions shared with them.',
        tags: ['Coaching analytics'],
        querystring: StatsQuerySchema,
        response: { 200: StatsResponseSchema, '4xx': ErrorSchema },
      },
      config: { bucket: 'api' },
    },
    async (request) => coachingStats(deps.store, actorOf(request), request.query),
  );
}
