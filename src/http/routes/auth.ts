import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ABSOLUTE_LIFETIME_MS, csrfTokenFor, SESSION_COOKIE } from '../../accounts/browser-sessions.js';
import { acceptInvite, normalizeEmail, readInvite, SIGN_IN_REFUSED, signIn, signOut, type SignedIn } from '../../accounts/sign-in.js';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import {
  InviteInfoSchema,
  InviteParams,
  MeSchema,
  SetPasswordBody,
  SignedInSchema,
  SignInBody,
} from '../../contract/account-schemas.js';
import { ErrorSchema } from '../../contract/schemas.js';
import { DomainError } from '../../coaching/errors.js';
import { rulesFor, type Decision, type RateLimiter } from '../../ratelimit/limiter.js';
import type { Store } from '../../store/store.js';
import { assertOwnOrigin } from '../csrf.js';
import { HttpError } from '../errors.js';
import { principalOf, publicOrigin } from '../guard.js';

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
  const cookie = { httpOnly: true, sameSite: 'lax', path: '/', secure: config.publicUrl.startsWith('https:'), maxAge: ABSOLUTE_LIFETIME_MS / 1000 } as const;
  const failureRules = rulesFor(config.limits.authFailures);
  const accountRules = rulesFor(config.limits.signInPerAccount);
  /** The same per-address bucket the guard counts bad tokens in. */
  const failureKey = (request: FastifyRequest) => `auth-failures:${request.ip}`;

  async function refuseBlockedAddress(request: FastifyRequest): Promise<void> {
    const blocked = await limiter.peek(failureKey(request), failureRules);
    if (!blocked.allowed) throw tooMany(blocked, 'failed sign-ins from this address');
  }

  function startSession(reply: FastifyReply, signedIn: SignedIn) {
    reply.setCookie(SESSION_COOKIE, signedIn.sessionId, cookie);
    return { user: { ...signedIn.user, active: true }, csrfToken: csrfTokenFor(signedIn.sessionId) };
  }

  app.post<{ Body: SignInBody }>(
    '/api/v1/auth/sign-in',
    {
      schema: {
        summary: 'Sign in to the console with email and password',
        description: 'Sets the session cookie. A wrong email and a wrong password get the same answer. Limited per account and per address before the password is checked.',
        tags,
        security: [],
        body: SignInBody,
        response: { 200: SignedInSchema, ...errors },
      },
      config: { public: true },
    },
    async (request, reply) => {
      assertOwnOrigin(request, origin);
      await refuseBlockedAddress(request);
      // Reserved before the check, so parallel guesses at one account are held to the limit.
      const account = await limiter.consume(`sign-in-account:${normalizeEmail(request.body.email)}`, accountRules);
      if (!account.allowed) throw tooMany(account, 'sign-in attempts for this account');
      const signedIn = await signIn(store, request.body.email, request.body.password, request.ip, clock.now());
      if (!signedIn) {
        await limiter.consume(failureKey(request), failureRules);
        throw new HttpError(401, SIGN_IN_REFUSED);
      }
      return startSession(reply, signedIn);
    },
  );

  app.post(
    '/api/v1/auth/sign-out',
    {
      schema: { summary: 'Sign out: ends this browser session and clears its cookie', tags, response: { 204: { type: 'null' }, ...errors } },
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
      schema: { summary: 'Who an invite link is for', tags, security: [], params: InviteParams, response: { 200: InviteInfoSchema, ...errors } },
      config: { public: true },
    },
    async (request) => {
      await refuseBlockedAddress(request);
      try {
        const { user } = await readInvite(store, request.params.token, clock.now());
        return { email: user.email, name: user.name };
      } catch (error) {
        if (error instanceof DomainError) await limiter.consume(failureKey(request), failureRules);
        throw error;
      }
    },
  );

  app.post<{ Params: InviteParams; Body: SetPasswordBody }>(
    '/api/v1/auth/invites/:token',
    {
      schema: {
        summary: 'Set the password an invite link is for, and sign in',
        description: 'The link works once and for 7 days. Setting a password ends the person\'s other browser sessions.',
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
      await refuseBlockedAddress(request);
      try {
        return startSession(reply, await acceptInvite(store, request.params.token, request.body.password, request.ip, clock.now()));
      } catch (error) {
        if (error instanceof DomainError && error.kind === 'not_found') await limiter.consume(failureKey(request), failureRules);
        throw error;
      }
    },
  );
}
