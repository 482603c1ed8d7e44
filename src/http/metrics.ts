import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AuthFailureLimiter } from '../ratelimit/auth-failures.js';
import { tooManyRequestsMessage } from '../ratelimit/limiter.js';
import type { PoolStats } from '../store/store.js';
import { HttpError } from './errors.js';

/** The route label of a request no route matched: never the raw URL, whose variety is unbounded. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Rate-limit buckets as the rejection counter names them. */
export type LimitBucket = 'export' | 'api' | 'auth_failures' | (string & {});

/**
 * The series of one app instance, in a registry of its own: tests build several apps in one
 * process, so nothing here is a module-level singleton.
 */
export class AppMetrics {
  readonly registry = new Registry();
  private readonly requestDuration: Histogram<'method' | 'route' | 'status_code'>;
  private readonly exportSessions: Counter;
  private readonly exportBytes: Counter;
  private readonly exportsInFlight: Gauge;
  private readonly rateLimitRejections: Counter<'bucket'>;
  private readonly auditWriteFailures: Counter<'action'>;
  private readonly webhookDeliveries: Counter<'outcome'>;
  private readonly emails: Counter<'outcome'>;
  private readonly importNamesLeft: Gauge;

  constructor(options: { poolStats?: () => PoolStats | null; exportPagesQueued?: () => number | null } = {}) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requestDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from a request arriving to its response being sent, by route template.',
      labelNames: ['method', 'route', 'status_code'],
      // Exports of a large window run for tens of seconds; the API answers in milliseconds.
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.exportSessions = new Counter({
      name: 'coachport_export_sessions_total',
      help: 'Sessions sent by the Coaching Export API.',
      registers,
    });
    this.exportBytes = new Counter({
      name: 'coachport_export_bytes_total',
      help: 'Bytes of export JSON sent (before any compression).',
      registers,
    });
    this.exportsInFlight = new Gauge({ name: 'coachport_exports_in_flight', help: 'Exports being streamed right now.', registers });
    this.importNamesLeft = new Gauge({
      name: 'coachport_import_names_left',
      help:
        "Names imports changed that this server's last sweep left to splice into the documents written beside them " +
        '(NaN: no sweep yet, or it failed).',
      registers,
    });
    // Not 0 before the first sweep: nothing is known yet.
    this.importNamesLeft.set(Number.NaN);
    this.rateLimitRejections = new Counter({
      name: 'coachport_rate_limit_rejections_total',
      help: 'Requests refused with 429, by rate-limit bucket.',
      labelNames: ['bucket'],
      registers,
    });
    this.auditWriteFailures = new Counter({
      name: 'coachport_audit_write_failures_total',
      help: 'Audit entries that could not be written (the request itself was answered), by action.',
      labelNames: ['action'],
      registers,
    });
    this.webhookDeliveries = new Counter({
      name: 'coachport_webhook_deliveries_total',
      help: 'Webhook delivery attempts, by outcome: success, failure (retried or given up), gone (410), refused (address).',
      labelNames: ['outcome'],
      registers,
    });
    this.emails = new Counter({
      name: 'coachport_emails_total',
      help: 'Mail attempts, by outcome: sent, failure (retried or given up).',
      labelNames: ['outcome'],
      registers,
    });
    const poolStats = options.poolStats;
    // A store without a pool (SQLite) has no such series, rather than series stuck at zero.
    if (poolStats && poolStats() !== null) {
      const pool = (name: string, help: string, pick: (stats: PoolStats) => number) =>
        new Gauge({
          name,
          help,
          registers,
          collect() {
            const stats = poolStats();
            if (stats) this.set(pick(stats));
          },
        });
      pool('coachport_store_pool_connections', 'Store connections open (idle or in use).', (s) => s.total);
      pool('coachport_store_pool_idle_connections', 'Store connections open and idle.', (s) => s.idle);
      pool('coachport_store_pool_waiting_requests', 'Queries waiting for a free store connection.', (s) => s.waiting);
    }
    const exportPagesQueued = options.exportPagesQueued;
    if (exportPagesQueued && exportPagesQueued() !== null) {
      new Gauge({
        name: 'coachport_export_day_pages_queued',
        help: 'Exports whose days wait to be kept joined for the next export (SQLite).',
        registers,
        collect() {
          this.set(exportPagesQueued() ?? 0);
        },
      });
    }
  }

  observeRequest(method: string, route: string, statusCode: number, seconds: number): void {
    this.requestDuration.observe({ method, route, status_code: String(statusCode) }, seconds);
  }

  /** What the last sweep of the names imports left found still left (NamesLeftSweep). */
  namesLeftAfterSweep(count: number): void {
    this.importNamesLeft.set(count);
  }

  rateLimitRejected(bucket: LimitBucket): void {
    this.rateLimitRejections.inc({ bucket });
  }

  /**
   * Counts an export's JSON text as it leaves: bytes per chunk, and the export as in flight
   * until the stream ends or the client goes away (the generator is then returned early).
   */
  async *meterExport(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer | string> {
    this.exportsInFlight.inc();
    try {
      for await (const chunk of chunks) {
        this.exportBytes.inc(Buffer.byteLength(chunk));
        yield chunk;
      }
    } finally {
      this.exportsInFlight.dec();
    }
  }

  webhookAttempted(outcome: 'success' | 'failure' | 'gone' | 'refused'): void {
    this.webhookDeliveries.inc({ outcome });
  }

  emailAttempted(outcome: 'sent' | 'failure'): void {
    this.emails.inc({ outcome });
  }

  auditWriteFailed(action: string): void {
    this.auditWriteFailures.inc({ action });
  }

  /** Sessions an export sent, counted when it ends (cut or whole). */
  exportSessionsSent(count: number): void {
    if (count > 0) this.exportSessions.inc(count);
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: AppMetrics;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Equal-length digests, so the comparison's time says nothing about the token. */
function sameSecret(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/**
 * Times every response by its route template (`/api/v1/coaching/sessions/:id`), and serves the
 * registry at GET /metrics, behind `Authorization: Bearer <METRICS_TOKEN>` when one is set. A
 * wrong token is a failed authentication like a wrong API token: it counts in the address's
 * failed-authentication bucket (and the presented token's own), reserved before the comparison,
 * so guessing the metrics token is refused with 429 beyond the limit. A request without the
 * header guesses nothing and is not counted.
 */
export function installMetrics(
  app: FastifyInstance,
  metrics: AppMetrics,
  options: { token: string | null; authFailures: AuthFailureLimiter },
): void {
  app.decorate('metrics', metrics);
  app.addHook('onResponse', async (request, reply) => {
    const route = request.is404 ? UNMATCHED_ROUTE : (request.routeOptions.url ?? UNMATCHED_ROUTE);
    metrics.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });
  app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (request, reply) => {
    const expected = options.token;
    if (expected !== null) {
      const header = request.headers.authorization ?? '';
      const presented = header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
      const attempt = await options.authFailures.attempt(
        request.ip,
        header,
        async () => sameSecret(presented, expected),
        (right) => right,
      );
      if (attempt.outcome === 'limited') {
        metrics.rateLimitRejected('auth_failures');
        const seconds = Math.max(1, Math.ceil(attempt.decision.retryAfterMs / 1000));
        throw new HttpError(429, tooManyRequestsMessage(attempt.decision.exceeded!), { 'Retry-After': String(seconds) });
      }
      if (!attempt.result) {
        throw new HttpError(401, 'The metrics need the Authorization header "Bearer <METRICS_TOKEN>".', { 'WWW-Authenticate': 'Bearer' });
      }
    }
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
