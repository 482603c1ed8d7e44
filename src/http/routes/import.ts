import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import { planImport } from '../../importer/plan.js';
import type { Store } from '../../store/store.js';
import { HttpError } from '../errors.js';
import { principalOf } from '../guard.js';

export function importRoutes(app: FastifyInstance, deps: { store: Store; clock: Clock; config: Config }): void {
  app.post(
    '/api/v1/coaching-sessions/import',
    {
      bodyLimit: deps.config.importBodyLimitBytes,
      schema: {
        summary: 'Import coaching sessions',
        description: 'Upserts sessions given in the export format, by _id, in one transaction. The first invalid element rejects the whole import.',
        tags: ['Coaching Export API'],
      },
      config: { roles: ['admin'], bucket: 'api' },
    },
    async (request) => {
      const planned = planImport(request.body);
      if (!planned.ok) throw new HttpError(400, planned.error);
      const imported = await deps.store.applyImport(principalOf(request).orgId, planned.plan, deps.clock.now());
      return { imported };
    },
  );
}
