import type {} from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { resolveBrowserSession, SESSION_COOKIE } from '../accounts/browser-sessions.js';
import { authenticate, type AuthResult, type Principal } from '../accounts/tokens.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Role } from '../accounts/roles.js';
import type { Store } from '../store/store.js';
import { AuthFailureLimiter } from '../ratelimit/auth-failures.js';
import { rulesFor, tooManyRequestsMessage, type Decision, type RateLimiter, type Reservation, type Rule } from '../ratelimit/limiter.js';
import { assertCsrf } from './csrf.js';
import { HttpError } from './errors.js';
import type { AppMetrics, LimitBucket } from './metrics.js';
import { DOCS_PREFIX } from './openapi.js';

export type Bucket = 'export' | 'api' | 'feed';

/** What a route asks of the guard, declared in its `config`. */
export interface RouteGuard {
  /** Open to anyone: no token, no limits (health checks, documentation). */
  public?: boolean;
  /** Roles allowed; absent means any authenticated user. */
  roles?: Role[];
  bucket?: Bucket;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    /** The request's place in its bucket, given back when the answer is a 503 (installGuard). */
    place: Reservation | null;
  }
  interface FastifyContextConfig extends RouteGuard {}
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new HttpError(401, 'An API token is required in the apiToken header.');
  return request.principal;
}

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

function setRateHeaders(reply: FastifyReply, decision: Decision, rules: Rule[]): void {
  reply.header('RateLimit-Limit', String(decision.limit));
  reply.header('RateLimit-Remaining', String(decision.remaining));
  reply.header('RateLimit-Reset', String(Math.max(0, Math.ceil(decision.resetMs / 1000))));
  reply.header('RateLimit-Policy', rules.map((r) => `${r.limit};w=${r.windowMs / 1000}`).join(', '));
}

function refuse(decision: Decision): HttpError {
  return new HttpError(429, tooManyRequestsMessage(decision.exceeded!), { 'Retry-After': String(seconds(decision.retryAfterMs)) });
}

/** The principal behind the session cookie, or why there is none. */
async function authenticateCookie(store: Store, sessionId: string, now: number): Promise<AuthResult> {
  const session = await resolveBrowserSession(store, sessionId, now);
  if (!session.ok) return session;
  return {
    ok: true,
    principal: {
      orgId: session.orgId,
      user: session.user,
      tokenId: null,
      browserSession: { idHash: session.idHash, csrfToken: session.csrfToken },
    },
  };
}

/**
 * Whose count a request uses up. The export and the change feed are the organization's (SPEC §2);
 * the api bucket is each user's (SPEC §12), so one busy agent cannot starve the admin's integrations.
 */
export function bucketKey(bucket: Bucket, principal: Principal): string {
  return bucket === 'api' ? `api:${principal.orgId}:${principal.user.id}` : `${bucket}:${principal.orgId}`;
}

export function publicOrigin(config: Config): string {
  return new URL(config.publicUrl).origin;
}

/**
 * One hook for every route: who is calling (401), may they (403), and are they within their
 * organization's limits (429). A failed authentication's place is reserved before the token is
 * looked at (see AuthFailureLimiter), so guessing costs the guesser, not the store. A request names
 * its caller by the apiToken header or, from the console, by the session cookie (then a write must
 * also pass the CSRF check); routes see one principal either way.
 */
export function installGuard(
  app: FastifyInstance,
  deps: { config: Config; store: Store; limiter: RateLimiter; clock: Clock; metrics?: Pick<AppMetrics, 'rateLimitRejected'> },
): void {
  const rejected = (bucket: LimitBucket, decision: Decision): HttpError => {
    deps.metrics?.rateLimitRejected(bucket);
    return refuse(decision);
  };
  const buckets: Record<Bucket, Rule[]> = {
    export: rulesFor(deps.config.limits.export),
    api: rulesFor(deps.config.limits.api),
    feed: rulesFor(deps.config.limits.feed),
  };
  const authFailures = AuthFailureLimiter.configured(deps.limiter, deps.config.limits);
  const origin = publicOrigin(deps.config);

  app.decorateRequest('principal', null);
  app.decorateRequest('place', null);
  // A request the server answers 503 (its exports' capacity, its database unreachable) gives its
  // place back: SPEC §2's "rejected requests do not use up quota". A malformed request (400) keeps
  // its place, so that the limit is checked before the body is read.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (reply.statusCode !== 503 || !request.place) return done(null, payload);
    request.place.release().then(
      () => done(null, payload),
      () => done(null, payload),
    );
  });
  app.addHook('onRequest', async (request, reply) => {
    const guard = request.routeOptions.config;
    if (guard.public || request.is404 || request.routeOptions.url?.startsWith(DOCS_PREFIX)) return;

    const header = request.headers.apitoken;
    const secret = Array.isArray(header) ? header[0] : header;
    const sessionId = secret === undefined ? request.cookies[SESSION_COOKIE] : undefined;
    const check = () =>
      sessionId ? authenticateCookie(deps.store, sessionId, deps.clock.now()) : authenticate(deps.store, secret, deps.clock.now());
    const attempt = await authFailures.attempt(request.ip, secret ?? sessionId, check, (r) => r.ok);
    if (attempt.outcome === 'limited') throw rejected('auth_failures', attempt.decision);
    const result = attempt.result;
    if (!result.ok) {
      if (sessionId) reply.clearCookie(SESSION_COOKIE, { path: '/' });
      throw new HttpError(401, result.error);
    }
    request.principal = result.principal;
    if (result.principal.browserSession) assertCsrf(request, origin, result.principal.browserSession.csrfToken);

    if (guard.roles && !guard.roles.includes(result.principal.user.role)) {
      const caller = result.principal.browserSession ? 'you are signed in as a user' : 'the token belongs to a user';
      throw new HttpError(
        403,
        `This needs the ${guard.roles.join(' or ')} role, and ${caller} with the ${result.principal.user.role} role.`,
      );
    }

    const bucket = guard.bucket ?? 'api';
    const rules = buckets[bucket];
    request.place = await deps.limiter.reserve(bucketKey(bucket, result.principal), rules);
    const decision = request.place.decision;
    setRateHeaders(reply, decision, rules);
    if (!decision.allowed) throw rejected(bucket, decision);
  });
}
