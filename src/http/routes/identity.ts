import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ABSOLUTE_LIFETIME_MS, SESSION_COOKIE } from '../../accounts/browser-sessions.js';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import { OidcBody, OidcSchema, OidcStartParams, RoleMappingBody, RoleMappingSchema } from '../../contract/identity-schemas.js';
import { ErrorSchema } from '../../contract/schemas.js';
import { deleteOidc, describeOidc, saveOidc } from '../../identity/oidc-settings.js';
import {
  auditFailure,
  finishOidcSignIn,
  LOGIN_STATE_TTL_MS,
  OidcSignInFailure,
  startOidcSignIn,
  type OidcDeps,
} from '../../identity/oidc-sign-in.js';
import { readRoleMapping, saveRoleMapping } from '../../identity/role-mapping.js';
import { AuthFailureLimiter } from '../../ratelimit/auth-failures.js';
import type { RateLimiter } from '../../ratelimit/limiter.js';
import type { Store } from '../../store/store.js';
import { actorOf } from '../actor.js';

const errors = { '4xx': ErrorSchema };
const tags = ['Identity'];
/** Binds a sign-in begun at /start to the browser that began it, so nobody can finish theirs in someone else's browser. */
const STATE_COOKIE = 'coachport_oidc_state';
const STATE_COOKIE_PATH = '/api/v1/auth/oidc';

type Deps = { store: Store; clock: Clock; config: Config; limiter: RateLimiter };

/** Single sign-on (SPEC §10): the provider's configuration, the role mapping, and the two legs of the sign-in. */
export function identityRoutes(app: FastifyInstance, deps: Deps): void {
  const { store, clock, config } = deps;
  const oidcDeps: OidcDeps = { store, clock, publicUrl: config.publicUrl, allowHttp: config.oidcAllowHttp };
  const authFailures = AuthFailureLimiter.configured(deps.limiter, config.limits);
  const secure = config.publicUrl.startsWith('https:');

  app.get(
    '/api/v1/identity/role-mapping',
    {
      schema: { summary: 'The provider groups that give each role', tags, response: { 200: RoleMappingSchema, ...errors } },
      config: { roles: ['admin'] },
    },
    async (request) => readRoleMapping(store, actorOf(request).orgId),
  );
  app.put<{ Body: RoleMappingBody }>(
    '/api/v1/identity/role-mapping',
    {
      schema: {
        summary: 'Set the provider groups that give each role',
        description:
          'Used by single sign-on at every sign-in and by SCIM group membership at once. A person in several mapped groups gets ' +
          'the highest role (admin > coach > agent); in none, they keep the role they have.',
        tags,
        body: RoleMappingBody,
        response: { 200: RoleMappingSchema, ...errors },
      },
      config: { roles: ['admin'] },
    },
    async (request) => {
      const actor = actorOf(request);
      return saveRoleMapping(store, actor, actor.orgId, request.body, clock.now());
    },
  );

  app.get(
    '/api/v1/identity/oidc',
    {
      schema: { summary: "The organization's OpenID provider, never its secret", tags, response: { 200: OidcSchema, ...errors } },
      config: { roles: ['admin'] },
    },
    async (request) => {
      const { orgId } = actorOf(request);
      return describeOidc(await store.identity(orgId, (tx) => tx.getOidc(), 'readOnly'), config.publicUrl, orgId);
    },
  );
  app.put<{ Body: OidcBody }>(
    '/api/v1/identity/oidc',
    {
      schema: {
        summary: "Set up sign-in with the organization's OpenID provider",
        description:
          "The issuer's discovery document is read now; an unreachable or invalid issuer is a 400 saying what failed. " +
          'An http:// issuer is refused unless the server runs with OIDC_ALLOW_HTTP=true.',
        tags,
        body: OidcBody,
        response: { 200: OidcSchema, ...errors },
      },
      config: { roles: ['admin'] },
    },
    async (request) => {
      const actor = actorOf(request);
      const saved = await saveOidc(store, actor, actor.orgId, request.body, { clock, allowHttp: config.oidcAllowHttp });
      return describeOidc(saved, config.publicUrl, actor.orgId);
    },
  );
  app.delete(
    '/api/v1/identity/oidc',
    {
      schema: { summary: 'Turn sign-in with the OpenID provider off', tags, response: { 204: { type: 'null' }, ...errors } },
      config: { roles: ['admin'] },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      await deleteOidc(store, actor, actor.orgId, clock.now());
      return reply.code(204).send();
    },
  );

  function toSignInPage(reply: FastifyReply, orgId: string | null, reason: string) {
    const query = new URLSearchParams({ ...(orgId ? { organization: orgId } : {}), oidcError: reason });
    return reply.redirect(`/sign-in?${query}`, 302);
  }

  async function failed(request: FastifyRequest, reply: FastifyReply, error: unknown, orgId: string | null) {
    if (!(error instanceof OidcSignInFailure)) throw error;
    // The sentence stays in the server's log; the browser gets only the reason, shown by the console in its language.
    request.log.info({ reason: error.reason, detail: error.message }, 'single sign-on failed');
    await auditFailure(store, error, request.ip, clock.now());
    return toSignInPage(reply, error.orgId ?? orgId, error.reason);
  }

  app.get<{ Params: OidcStartParams }>(
    '/api/v1/auth/oidc/:organizationId/start',
    {
      schema: {
        summary: "Begin signing in with the organization's OpenID provider",
        description: 'Redirects (302) to the provider: authorization code flow with PKCE (S256), state and nonce.',
        tags: ['Signing in'],
        security: [],
        params: OidcStartParams,
        response: { 302: { type: 'null' }, ...errors },
      },
      config: { public: true },
    },
    async (request, reply) => {
      const { organizationId } = request.params;
      try {
        const { location, state } = await startOidcSignIn(oidcDeps, organizationId);
        reply.setCookie(STATE_COOKIE, state, {
          httpOnly: true,
          sameSite: 'lax',
          secure,
          path: STATE_COOKIE_PATH,
          maxAge: LOGIN_STATE_TTL_MS / 1000,
        });
        return reply.redirect(location, 302);
      } catch (error) {
        return failed(request, reply, error, organizationId);
      }
    },
  );

  app.get(
    '/api/v1/auth/oidc/callback',
    {
      schema: {
        summary: 'Where the OpenID provider sends the browser back (the redirect URI to register)',
        description:
          "Checks state, nonce, the ID token's signature, issuer, audience and expiry, signs the person in with the console's " +
          'session cookie and redirects to /sessions. Any failure redirects to /sign-in with the reason and no session.',
        tags: ['Signing in'],
        security: [],
        response: { 302: { type: 'null' }, ...errors },
      },
      config: { public: true },
    },
    async (request, reply) => {
      const query = new URLSearchParams(request.url.split('?')[1] ?? '');
      const browserState = request.cookies[STATE_COOKIE];
      reply.clearCookie(STATE_COOKIE, { path: STATE_COOKIE_PATH });
      try {
        const signedIn = await finishOidcSignIn(oidcDeps, query, browserState, request.ip);
        await authFailures.trust(signedIn.sessionId, ABSOLUTE_LIFETIME_MS);
        reply.setCookie(SESSION_COOKIE, signedIn.sessionId, {
          httpOnly: true,
          sameSite: 'lax',
          path: '/',
          secure,
          maxAge: ABSOLUTE_LIFETIME_MS / 1000,
        });
        return reply.redirect('/sessions', 302);
      } catch (error) {
        return failed(request, reply, error, null);
      }
    },
  );
}
