import { setTimeout as sleep } from 'node:timers/promises';
import { createGzip, constants as zlib } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { ErrorSchema, ExportRequestSchema, ExportResponseSchema, type ExportRequest } from '../../contract/schemas.js';
import { countedExport, exportAuditEntry, type ExportTally } from '../../audit/export-audit.js';
import { writeAuditOrReport } from '../../audit/unwritten.js';
import type { Clock } from '../../clock.js';
import { begun, exportJson } from '../../export/json-stream.js';
import { exportWindow } from '../../export/window.js';
import type { Store } from '../../store/store.js';
import { acceptsGzip } from '../accept-encoding.js';
import { HttpError } from '../errors.js';
import { actorOf } from '../actor.js';
import { cutWhenReaderStalls } from '../stalled-reader.js';
import { bodyWrittenInto, gzipWrittenFrom } from '../export-writer.js';

/**
 * gzip level 1: measured on seeded exports it compresses about 7× at well over the rate the
 * export reads documents, where the default level 6 gains a little more ratio (about 9×) at less
 * than half the speed, which would make compression the export's bottleneck (docs/performance.md).
 */
export const EXPORT_GZIP_LEVEL = 1;
/**
 * zlib's output chunk for the gzip export: 256 KB instead of its 16 KB default, so a 13.8 MB
 * compressed export is about 55 socket writes and stream turns, not 860 (docs/performance.md).
 */
export const EXPORT_GZIP_CHUNK_BYTES = 256 * 1024;

export interface ExportDeps {
  store: Store;
  clock: Clock;
  /** Exports this process streams at once; beyond it, 503 with Retry-After. */
  exportConcurrency: number;
  /** A client that takes no byte of its export for this long is cut, and its slot freed. */
  exportStallTimeoutMs: number;
}

/** How long the server's close waits for the responses of exports it cut to close. */
const CUT_RESPONSES_CLOSE_WITHIN_MS = 2_000;

/** One export's audit entry to come: written when its response closes, or dropped if it never began; one or the other, once. */
interface PendingAudit {
  write(entry: () => Promise<void>): void;
  cancel(): void;
}

/**
 * Exports begun whose responses are still open, and the audit entries being written of those that
 * closed. The server's close waits for both before its store closes: Fastify runs its close hooks
 * once Node's server reports itself closed, when the sockets destroyed at the shutdown's timeout
 * have yet to emit `close` on their responses.
 */
class ExportAudits {
  private open = 0;
  private readonly writing = new Set<Promise<void>>();
  private allClosed: (() => void) | null = null;

  begin(): PendingAudit {
    this.open++;
    const settle = (entry: (() => Promise<void>) | null) => {
      if (entry) {
        // The entry's own failures are logged and counted where it is written (audit/unwritten.ts).
        const written: Promise<void> = entry()
          .catch(() => undefined)
          .finally(() => this.writing.delete(written));
        this.writing.add(written);
      }
      this.open--;
      if (this.open === 0) this.allClosed?.();
    };
    return { write: (entry) => settle(entry), cancel: () => settle(null) };
  }

  async settled(): Promise<void> {
    if (this.open > 0) {
      const closed = new Promise<void>((resolve) => (this.allClosed = resolve));
      await Promise.race([closed, sleep(CUT_RESPONSES_CLOSE_WITHIN_MS, undefined, { ref: false })]);
    }
    await Promise.all(this.writing);
  }
}

/**
 * The contract makes any body that is not JSON a 400, so this route, unlike the rest of the API
 * (415), refuses other content types as a bad request.
 */
export async function exportRoutes(root: FastifyInstance, deps: ExportDeps): Promise<void> {
  await root.register(async (app) => {
    app.addContentTypeParser('*', (_request, _payload, done) => {
      done(new HttpError(400, 'The request body must be JSON, sent with Content-Type: application/json.'), undefined);
    });
    exportRoute(app, deps);
  });
}

function exportRoute(app: FastifyInstance, deps: ExportDeps): void {
  let running = 0;
  const audits = new ExportAudits();
  app.addHook('onClose', () => audits.settled());
  app.post<{ Body: ExportRequest }>(
    '/api/v1/coaching-sessions',
    {
      schema: {
        summary: 'Export coaching sessions',
        description:
          'Sessions of the organization whose timeAxis date falls in the window of whole UTC days, both ends inclusive, ' +
          'at most 90 days apart. Streamed; gzip-encoded when Accept-Encoding allows it. ' +
          '503 with Retry-After when the server already streams as many exports as it allows.',
        tags: ['Coaching Export API'],
        body: ExportRequestSchema,
        response: { 200: ExportResponseSchema, '4xx': ErrorSchema, 503: ErrorSchema },
      },
      config: { roles: ['admin'], bucket: 'export' },
    },
    async (request, reply) => {
      const result = exportWindow(request.body);
      if (!result.ok) throw new HttpError(400, result.error);
      // Not a 429: those two sentences belong to the rate limits, and this is the server's own capacity.
      if (running >= deps.exportConcurrency) {
        throw new HttpError(503, 'This server is already streaming as many exports as it allows; try again in a moment.', {
          'Retry-After': '1',
        });
      }
      // Once the response has closed; at once if the client is gone already ('close' came before).
      const whenClosed = (then: () => void) => (reply.raw.closed ? then() : reply.raw.once('close', then));
      running++;
      whenClosed(() => running--);
      cutWhenReaderStalls(reply.raw, deps.exportStallTimeoutMs);
      const actor = actorOf(request);
      const metrics = request.server.metrics;
      // Counted from here, so that a close coming while the store's first page is read waits for it.
      const pending = audits.begin();
      let documents: Awaited<ReturnType<typeof begun>>;
      try {
        documents = await begun(deps.store.exportDocuments(actor.orgId, result.window));
      } catch (error) {
        pending.cancel();
        throw error;
      }
      const tally: ExportTally = { sessions: 0, bytes: 0, completed: false };
      // Sent, cut, or never read (the client gone before the first byte): the store's read ends, and
      // the entry is written.
      whenClosed(() => {
        void documents.end().catch(() => undefined);
        pending.write(async () => {
          metrics.exportSessionsSent(tally.sessions);
          // Complete only if the whole response left: the stream may have ended with its last bytes
          // still queued when the socket was cut (a stalled reader, the shutdown's timeout).
          const sent = { ...tally, completed: tally.completed && reply.raw.writableFinished };
          await writeAuditOrReport(deps.store, actor.orgId, exportAuditEntry(actor, result.window, sent, deps.clock.now()), {
            log: request.log,
            metrics,
          });
        });
      });
      const json = metrics.meterExport(countedExport(exportJson(documents.chunks), tally));
      reply.type('application/json; charset=utf-8').header('Vary', 'Accept-Encoding');
      if (!acceptsGzip(request.headers['accept-encoding'])) return reply.send(bodyWrittenInto(reply.raw, json));
      reply.header('Content-Encoding', 'gzip');
      const gzip = createGzip({ level: EXPORT_GZIP_LEVEL, chunkSize: EXPORT_GZIP_CHUNK_BYTES, flush: zlib.Z_NO_FLUSH });
      return reply.send(gzipWrittenFrom(reply.raw, json, gzip));
    },
  );
}
