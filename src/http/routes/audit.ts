import type { FastifyInstance } from 'fastify';
import { describeAuditEntry } from '../../audit/audit.js';
import { AuditPageSchema, AuditQuerySchema, type AuditQuery } from '../../contract/account-schemas.js';
import { ErrorSchema } from '../../contract/schemas.js';
import type { Store } from '../../store/store.js';
import { actorOf } from '../actor.js';
import { dayRange, decodeCursor, pageLimit, pageOf } from '../paging.js';

export function auditRoutes(app: FastifyInstance, deps: { store: Store }): void {
  app.get<{ Querystring: AuditQuery }>(
    '/api/v1/audit-log',
    {
      schema: {
        summary: 'The audit log: who did what to accounts, tokens, templates, imports and exports',
        description:
          "Oldest first, a page at a time (pass the answer's cursor). from/to are UTC days, inclusive. " +
          'Never holds a secret, a password, a token or a note.',
        tags: ['Audit log'],
        querystring: AuditQuerySchema,
        response: { 200: AuditPageSchema, '4xx': ErrorSchema },
      },
      config: { roles: ['admin'] },
    },
    async (request) => {
      const q = request.query;
      const limit = pageLimit(q.limit, 100, 500);
      const after = q.cursor === undefined ? null : decodeCursor<[number, number]>(q.cursor, ['number', 'number']);
      const rows = await deps.store.readAudit(actorOf(request).orgId, {
        ...dayRange(q.from, q.to),
        action: q.action ?? null,
        after: after && { timestamp: after[0], seq: after[1] },
        limit: limit + 1,
      });
      const page = pageOf(rows, limit, (last) => [last.timestamp, last.seq]);
      return { entries: page.items.map(describeAuditEntry), cursor: page.cursor, hasMore: page.hasMore };
    },
  );
}
