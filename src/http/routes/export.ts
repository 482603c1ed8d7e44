import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { ErrorSchema, ExportRequestSchema, ExportResponseSchema, type ExportRequest } from '../../contract/schemas.js';
import { auditedExport, recordExport } from '../../audit/export-audit.js';
import type { Clock } from '../../clock.js';
import { exportJson } from '../../export/json-stream.js';
import { exportWindow } from '../../export/window.js';
import type { Store } from '../../store/store.js';
import { HttpError } from '../errors.js';
import { actorOf } from '../actor.js';

/**
 * The contract makes any body that is not JSON a 400, so this route, unlike the rest of the API
 * (415), refuses other content types as a bad request.
 */
export async function exportRoutes(root: FastifyInstance, deps: { store: Store; clock: Clock }): Promise<void> {
  await root.register(async (app) => {
    app.addContentTypeParser('*', (_request, _payload, done) => {
      done(new HttpError(400, 'The request body must be JSON, sent with Content-Type: application/json.'), undefined);
    });
    exportRoute(app, deps);
  });
}

function exportRoute(app: FastifyInstance, deps: { store: Store; clock: Clock }): void {
  app.post<{ Body: ExportRequest }>(
    '/api/v1/coaching-sessions',
    {
      schema: {
        summary: 'Export coaching sessions',
        description: 'Sessions of the organization whose timeAxis date falls in the window of whole UTC days, both ends inclusive, at most 90 days apart. Streamed.',
        tags: ['Coaching Export API'],
        body: ExportRequestSchema,
        response: { 200: ExportResponseSchema, '4xx': ErrorSchema },
      },
      config: { roles: ['admin'], bucket: 'export' },
    },
    async (request, reply) => {
      const result = exportWindow(request.body);
      if (!result.ok) throw new HttpError(400, result.error);
      const actor = actorOf(request);
      const pages = deps.store.exportJsonPages(actor.orgId, result.window);
      reply.type('application/json; charset=utf-8');
      const body = auditedExport(pages, exportJson, (tally) => recordExport(deps.store, actor, result.window, tally, deps.clock.now()));
      return reply.send(Readable.from(body, { objectMode: false }));
    },
  );
}
