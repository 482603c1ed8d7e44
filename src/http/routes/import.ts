import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import { auditEntry } from '../../audit/audit.js';
import { countsOf, planImport } from '../../importer/plan.js';
import { ImportCommittedWithStaleNames, type Store } from '../../store/store.js';
import { HttpError } from '../errors.js';
import { actorOf } from '../actor.js';

export function importRoutes(app: FastifyInstance, deps: { store: Store; clock: Clock; config: Config }): void {
  app.post(
    '/api/v1/coaching-sessions/import',
    {
      bodyLimit: deps.config.importBodyLimitBytes,
      schema: {
        summary: 'Import coaching sessions',
        description:
          'Upserts sessions given in the export format, by _id, in one transaction. The first invalid element rejects the whole import.',
        tags: ['Coaching Export API'],
      },
      config: { roles: ['admin'], bucket: 'api' },
    },
    async (request) => {
      const planned = planImport(request.body);
      if (!planned.ok) throw new HttpError(400, planned.error);
      const actor = actorOf(request);
      const now = deps.clock.now();
      const audit = auditEntry(actor, 'import', null, { ...countsOf(planned.plan) }, now);
      try {
        return { imported: await deps.store.applyImport(actor.orgId, planned.plan, now, audit) };
      } catch (error) {
        // Committed whole: a 200, with what the documents written beside it may still show.
        if (error instanceof ImportCommittedWithStaleNames && typeof error.result === 'object')
          return { imported: error.result, warning: error.message };
        throw error;
      }
    },
  );
}
