import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorSchema, ExportSessionSchema } from '../../contract/schemas.js';
import { FEED_PAGE_BYTES } from '../../coaching/limits.js';
import { auditEntry } from '../../audit/audit.js';
import { writeAuditOrReport } from '../../audit/unwritten.js';
import type { Clock } from '../../clock.js';
import { FEED_START, decodeCursor, encodeCursor } from '../../feed/cursor.js';
import { feedPage } from '../../feed/page.js';
import type { Store } from '../../store/store.js';
import { HttpError } from '../errors.js';
import { actorOf } from '../actor.js';

export const FEED_DEFAULT_LIMIT = 500;
export const FEED_MAX_LIMIT = 1000;

const ChangesQuery = Type.Object({
  cursor: Type.Optional(
    Type.String({ minLength: 1, maxLength: 2000, description: 'The cursor of the previous page; absent: from the beginning.' }),
  ),
  limit: Type.Optional(
    Type.String({
      description:
        `Sessions per page, 1..${FEED_MAX_LIMIT} (default ${FEED_DEFAULT_LIMIT}); ` +
        'a page ends earlier once its documents reach about 8 MB.',
      examples: ['500'],
    }),
  ),
});
type ChangesQuery = Static<typeof ChangesQuery>;

export const ChangesPageSchema = Type.Object(
  {
    sessions: Type.Array(ExportSessionSchema, {
      description: "Each changed session once, in its current state, in the export's shape; oldest change first.",
    }),
    cursor: Type.String({ description: 'Pass it back to get the changes after this page; the same cursor when there was nothing new.' }),
    hasMore: Type.Boolean({
      description: 'Whether more changes wait after this cursor now (also when the page ended early at about 8 MB).',
    }),
  },
  { additionalProperties: false },
);

function limitOf(raw: string | undefined): number {
  if (raw === undefined) return FEED_DEFAULT_LIMIT;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > FEED_MAX_LIMIT)
    throw new HttpError(400, `limit must be a whole number from 1 to ${FEED_MAX_LIMIT}, not "${raw.slice(0, 20)}".`);
  return n;
}

/**
 * The change feed (SPEC §7). The documents are the stored export text, joined into the page as
 * they are, never parsed and written again. Which positions are safe to hand out while other
 * transactions are still running is the store's business (`changesAfter`).
 */
export function changesRoutes(app: FastifyInstance, deps: { store: Store; clock: Clock; feedCursorSecret: string }): void {
  app.get<{ Querystring: ChangesQuery }>(
    '/api/v1/coaching-sessions/changes',
    {
      schema: {
        summary: 'Sessions changed since a cursor',
        description:
          'Every session whose export document changed after the cursor (the session, its log, a linked point or to-do, ' +
          'a name shown in it), once, in its current state. Follow cursor until hasMore is false; ask again later with the last cursor. ' +
          'Deleted sessions appear with isDeleted true. Admins only; its own rate-limit bucket.',
        tags: ['Coaching Export API'],
        querystring: ChangesQuery,
        response: { 200: ChangesPageSchema, '4xx': ErrorSchema },
      },
      config: { roles: ['admin'], bucket: 'feed' },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const { orgId } = actor;
      const limit = limitOf(request.query.limit);
      let after = FEED_START;
      if (request.query.cursor !== undefined) {
        const reading = decodeCursor(deps.feedCursorSecret, orgId, request.query.cursor);
        if (!reading.ok) throw new HttpError(400, reading.error);
        after = reading.position;
        if (await deps.store.feedPositionAhead(orgId, after)) {
          throw new HttpError(
            400,
            "The cursor is ahead of this server's change feed: its database was restored from an older backup, " +
              'or the cursor is another server’s. Start again without a cursor.',
          );
        }
      }
      // One more than asked tells whether more wait, without a second query; large documents end a page early.
      const answered = await deps.store.changesAfter(orgId, after, limit + 1, FEED_PAGE_BYTES);
      const { changes: page, hasMore } = feedPage(answered, limit, FEED_PAGE_BYTES);
      const last = page.at(-1)?.position ?? after;
      const cursor = encodeCursor(deps.feedCursorSecret, orgId, last);
      // Who read how many documents: never the cursor (it is a key to the feed) nor what was read.
      const entry = auditEntry(actor, 'changes_read', null, { count: page.length }, deps.clock.now());
      await writeAuditOrReport(deps.store, orgId, entry, { log: request.log, metrics: request.server.metrics });
      reply.type('application/json; charset=utf-8');
      const sessions = page.map((change) => change.doc).join(',');
      return reply.send(`{"sessions":[${sessions}],"cursor":${JSON.stringify(cursor)},"hasMore":${hasMore}}`);
    },
  );
}
