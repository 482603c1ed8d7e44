import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import { answerClientError, answerFrameworkError, installErrorShape, installShutdownAnswer } from './http/errors.js';
import { refuseNulInUrl, refusingNul } from './http/nul-text.js';
import { installGuard } from './http/guard.js';
import { resolveFeedCursorSecret } from './feed/cursor-secret.js';
import { AppMetrics, installMetrics } from './http/metrics.js';
import { AuthFailureLimiter } from './ratelimit/auth-failures.js';
import { installRequestIdHeader, requestIdGenerator } from './http/request-ids.js';
import { installOpenApi } from './http/openapi.js';
import { accountRoutes } from './http/routes/accounts.js';
import { auditRoutes } from './http/routes/audit.js';
import { authRoutes } from './http/routes/auth.js';
import { sessionListRoutes } from './http/routes/session-list.js';
import { changesRoutes } from './http/routes/changes.js';
import { coachingRoutes } from './http/routes/coaching.js';
import { consoleRoutes } from './http/console.js';
import { exportRoutes } from './http/routes/export.js';
import { healthRoutes } from './http/routes/health.js';
import { identityRoutes } from './http/routes/identity.js';
import { scimRoutes } from './http/routes/scim.js';
import { importRoutes } from './http/routes/import.js';
import { statsRoutes } from './http/routes/stats.js';
import { installSecurityHeaders } from './http/security-headers.js';
import { typeboxValidatorCompiler } from './http/validation.js';
import type { RateLimiter } from './ratelimit/limiter.js';
import type { Store } from './store/store.js';
import { NamesLeftSweep } from './coaching/names-left-sweep.js';
import { DeliveryWorker } from './events/delivery-worker.js';
import { meRoutes } from './http/routes/me.js';
import { webhookRoutes } from './http/routes/webhooks.js';
import { smtpMailer } from './mail/mailer.js';
import { resolveWithDns, type ResolveHost } from './webhooks/addresses.js';

export interface AppDeps {
  config: Config;
  store: Store;
  limiter: RateLimiter;
  clock: Clock;
  logger: Logger;
  /** Extra checks /readyz runs, such as the shared rate limiter's connection. */
  readinessChecks?: Array<() => Promise<void>>;
  /** The app's metrics; a fresh registry when absent. */
  metrics?: AppMetrics;
  /** How webhook hosts are resolved, at save and at send; DNS when absent. */
  resolveHost?: ResolveHost;
  /** How often the names imports left are spliced (NamesLeftSweep); every minute when absent. */
  namesLeftEveryMs?: number;
}

/** The composition root: every part is handed in, nothing is global. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const feedCursorSecret = await resolveFeedCursorSecret(deps.config, deps.store, deps.clock.now());
  const app = Fastify({
    loggerInstance: deps.logger,
    trustProxy: deps.config.trustProxy,
    bodyLimit: deps.config.bodyLimitBytes,
    // Clients of the export API are batch jobs; keep idle connections for their next window.
    keepAliveTimeout: 65_000,
    // Closing is answered by installShutdownAnswer below, in the {"error"} shape with Retry-After.
    return503OnClosing: false,
    // Requests Node's HTTP parser rejects never reach a route; answer them in the same shape.
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
    // Ids are up to 200 characters (contract/schemas.ts), percent-encoded in a path up to nine
    // bytes each; the schemas, not the router, hold them to their length (the router's default is 100).
    routerOptions: { maxParamLength: 2000 },
    genReqId: requestIdGenerator(deps.config.trustProxy),
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(typeboxValidatorCompiler);
  // Clients send `content-type: application/json` on bodiless POSTs (share, confirm); an empty
  // body is then "no body", left to each route's schema, instead of a parse error.
  const parseJson = refusingNul(app.getDefaultJsonParser('error', 'error'));
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') done(null, undefined);
    else parseJson(request, body as string, done);
  });
  // Fastify would hand a text/plain body to routes as a string, to be refused as the wrong shape:
  // without its parser, such a body is told what Content-Type to send (415; the export, 400).
  app.removeContentTypeParser('text/plain');
  app.addHook('onRequest', refuseNulInUrl);
  installRequestIdHeader(app);
  installMetrics(
    app,
    deps.metrics ?? new AppMetrics({ poolStats: () => deps.store.poolStats(), exportPagesQueued: () => deps.store.exportPagesQueued() }),
    {
      token: deps.config.metricsToken,
      authFailures: AuthFailureLimiter.configured(deps.limiter, deps.config.limits),
    },
  );
  installErrorShape(app);
  installSecurityHeaders(app, deps.config);
  installShutdownAnswer(app);
  // Parses the console's session cookie before the guard reads it.
  await app.register(cookie);
  installGuard(app, { ...deps, metrics: app.metrics });
  await installOpenApi(app);
  healthRoutes(app, deps);
  await exportRoutes(app, {
    store: deps.store,
    clock: deps.clock,
    exportConcurrency: deps.config.exportConcurrency,
    exportStallTimeoutMs: deps.config.exportStallTimeoutMs,
  });
  importRoutes(app, deps);
  accountRoutes(app, deps);
  authRoutes(app, deps);
  identityRoutes(app, deps);
  await scimRoutes(app, deps);
  auditRoutes(app, deps);
  sessionListRoutes(app, deps);
  coachingRoutes(app, deps);
  statsRoutes(app, deps);
  changesRoutes(app, { store: deps.store, clock: deps.clock, feedCursorSecret });
  const resolveHost = deps.resolveHost ?? resolveWithDns;
  webhookRoutes(app, { store: deps.store, clock: deps.clock, events: deps.config.events, resolveHost });
  meRoutes(app, deps);
  await consoleRoutes(app);
  const { smtpUrl, mailFrom, webhookTimeoutMs } = deps.config.events;
  const mailer = smtpUrl ? smtpMailer(smtpUrl, mailFrom, webhookTimeoutMs) : null;
  const worker = new DeliveryWorker({
    store: deps.store,
    config: deps.config.events,
    publicUrl: deps.config.publicUrl,
    clock: deps.clock,
    logger: deps.logger,
    metrics: app.metrics,
    mailer,
    resolve: resolveHost,
  });
  const namesLeft = new NamesLeftSweep(deps.store, deps.logger, {
    everyMs: deps.namesLeftEveryMs,
    onPass: (left) => app.metrics.namesLeftAfterSweep(left),
  });
  app.addHook('onClose', async () => {
    await Promise.all([worker.stop(), namesLeft.stop()]);
    mailer?.close();
  });
  await app.ready();
  worker.start();
  namesLeft.start();
  return app;
}
