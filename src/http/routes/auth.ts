import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ABSOLUTE_LIFETIME_MS, csrfTokenFor, SESSION_COOKIE } from '../../accounts/browser-sessions.js';
import { acceptInvite, normalizeEmail, readInvite, SIGN_IN_REFUSED, signIn, signOut, type SignedIn } from '../../accounts/sign-in.js';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import { InviteInfoSchema, InviteParams, MeSchema, SetPasswordBody, SignedInSchema, SignInBody } from '../../contract/account-schemas.js';
import { ErrorSchema } from '../../contract/schemas.js';
import { DomainError } from '../../coaching/errors.js';
import { AuthFailureLimiter } from '../../ratelimit/auth-failures.js';
import type { Decision, RateLimiter } from '../../ratelimit/limiter.js';
import { SignInFailureLimiter } from '../../ratelimit/sign-in-failures.js';
import type { Store } from '../../store/store.js';
import { assertOwnOrigin } from '../csrf.js';
import { HttpError } from '../errors.js';
import { principalOf, publicOrigin } from '../guard.js';
import { refuseBody } from '../no-body.js';

const errors = { '4xx': ErrorSchema };
const tags = ['Signing in'];

function tooMany(decision: Decision, what: string): HttpError {
  const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
  return new HttpError(429, `Too many ${what}; try again in ${seconds} seconds.`, { 'Retry-After': String(seconds) });
}

/**
 * Signing in and out of the console, and invite links. These routes are open (no principal yet),
 * so each one checks the Origin itself: a page of another site cannot sign someone in or use a link.
 */
export function authRoutes(app: FastifyInstance, deps: { store: Store; clock: Clock; config: Config; limiter: RateLimiter }): void {
  const { store, clock, config, limiter } = deps;
  const origin = publicOrigin(config);
  const cookie = {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    secure: config.publicUrl.startsWith('https:'),
    maxAge: ABSOLUTE_LIFETIME_MS / 1000,
  } as const;
  const authFailures = AuthFailureLimiter.configured(limiter, config.limits);
  const signInFailures = SignInFailureLimiter.configured(limiter, config.limits);

  /**
   * Runs `check` holding a place in the address's failed-authentication bucket (the one the guard
   * counts bad tokens in), reserved atomically before the check so that parallel guesses from one
   * address find at most the limit of places. The place stays taken only when `check` throws an
   * error `isFailure` counts; any other outcome gives it back.
   */
  async function fromAddress<T>(request: FastifyRequest, check: () => Promise<T>, isFailure: (error: unknown) => boolean): Promise<T> {
    const place = await authFailures.reserveForAddress(request.ip);
    if (!place.decision.allowed) throw tooMany(place.decision, 'failed sign-ins from this address');
    try {
      const result = await check();
      await place.release();
      return result;
    } catch (error) {
      if (!isFailure(error)) await place.release();
      throw error;
    }
  }

  /** Also makes the new session id known good, so the console's first parallel requests are never held back by the failure limits. */
  async function startSession(reply: FastifyReply, signedIn: SignedIn) {
    await authFailures.trust(signedIn.sessionId, ABSOLUTE_LIFETIME_MS);
    reply.setCookie(SESSION_COOKIE, signedIn.sessionId, cookie);
    return { user: { ...signedIn.user, active: true }, csrfToken: csrfTokenFor(signedIn.sessionId) };
  }

  app.post<{ Body: SignInBody }>(
    '/api/v1/auth/sign-in',
    {
      schema: {
        summary: 'Sign in to the console with email and password',
        description:
          'Sets the session cookie. A wrong email and a wrong password get the same answer. Failed sign-ins are limited per address, ' +
          'per account and address, and per account from addresses not known for it, before the password is checked.',
        tags,
        security: [],
        body: SignInBody,
        response: { 200: SignedInSchema, ...errors },
      },
      config: { public: true },
    },
    async (request, reply) => {
      assertOwnOrigin(request, origin);
      const signedIn = await fromAddress(
        request,
        async () => {
          const email = normalizeEmail(request.body.email);
          const places = await signInFailures.reserve(email, request.ip);
          if (places.refused) throw tooMany(places.refused.decision, places.refused.what);
          let result: SignedIn | null;
          try {
            result = await signIn(store, request.body.email, request.body.password, request.ip, clock.now(), config.passwordCost);
          } catch (error) {
            await places.release();
            throw error;
          }
          // A wrong password keeps its places: it counts per address, per account and address, and in the account's ceiling.
          if (!result) throw new HttpError(401, SIGN_IN_REFUSED);
          await places.succeeded();
          return result;
        },
        (error) => error instanceof HttpError && error.statusCode === 401,
      );
      return startSession(reply, signedIn);
    },
  );

  app.post(
    '/api/v1/auth/sign-out',
    {
      preValidation: refuseBody,
      schema: {
        summary: 'Sign out: ends this browser session and clears its cookie',
        tags,
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      if (!principal.browserSession) {
        throw new HttpError(400, 'Signing out ends a browser session; an API token is deactivated with DELETE /api/v1/tokens/:id.');
      }
      await signOut(store, principal.orgId, { ...principal.user, active: true }, principal.browserSession.idHash, request.ip, clock.now());
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/v1/auth/me',
    { schema: { summary: 'The signed-in person, their organization and the CSRF token', tags, response: { 200: MeSchema, ...errors } } },
    async (request) => {
      const principal = principalOf(request);
      if (!principal.browserSession) throw new HttpError(401, 'Sign in first: this answers for a browser session.');
      const organization = (await store.listOrganizations()).find((o) => o.id === principal.orgId)!;
      return { user: { ...principal.user, active: true }, organization, csrfToken: principal.browserSession.csrfToken };
    },
  );

  app.get<{ Params: InviteParams }>(
    '/api/v1/auth/invites/:token',
    {
      schema: {
        summary: 'Who an invite link is for',
        tags,
        security: [],
        params: InviteParams,
        response: { 200: InviteInfoSchema, ...errors },
      },
      config: { public: true },
    },
    async (request) => {
      const { user } = await fromAddress(
        request,
        () => readInvite(store, request.params.token, clock.now()),
        (error) => error instanceof DomainError,
      );
      return { email: user.email, name: user.name };
    },
  );

  app.post<{ Params: InviteParams; Body: SetPasswordBody }>(
    '/api/v1/auth/invites/:token',
    {
      schema: {
        summary: 'Set the password an invite link is for, and sign in',
        description: "The link works once and for 7 days. Setting a password ends the person's other browser sessions.",
        tags,
        security: [],
        params: InviteParams,
        body: SetPasswordBody,
        response: { 200: SignedInSchema, ...errors },
      },
      config: { public: true },
    },
    async (request, reply) => {
      assertOwnOrigin(request, origin);
      const signedIn = await fromAddress(
        request,
        async () => {
          const { token } = request.params;
          const signedIn = await acceptInvite(store, token, request.body.password, request.ip, clock.now(), config.passwordCost);
          if (signedIn.user.email) await signInFailures.remember(normalizeEmail(signedIn.user.email), request.ip);
          return signedIn;
        },
        (error) => error instanceof DomainError && error.kind === 'not_found',
      );
      return startSession(reply, signedIn);
    },
  );
}
