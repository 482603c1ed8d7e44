import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authenticate } from '../../accounts/tokens.js';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import { DomainError } from '../../coaching/errors.js';
import { badRequest, ScimError, scimErrorBody, type ScimType } from '../../identity/scim/errors.js';
import { parseEqualityFilter } from '../../identity/scim/filter.js';
import { patchOperations } from '../../identity/scim/patch.js';
import {
  createScimGroup,
  createScimUser,
  deleteScimGroup,
  groupFromResource,
  patchScimGroup,
  readScimGroup,
  readScimUser,
  replaceScimGroup,
  updateScimUser,
  type ScimCaller,
} from '../../identity/scim/provisioning.js';
import { listResponse, scimGroup, scimUser } from '../../identity/scim/resources.js';
import { serviceProviderConfig, resourceTypes, schemaDefinitions } from '../../identity/scim/discovery.js';
import { userFromPatch, userFromResource } from '../../identity/scim/user-attributes.js';
import { ConflictError } from '../../store/store.js';
import type { Store } from '../../store/store.js';
import { AuthFailureLimiter } from '../../ratelimit/auth-failures.js';
import { rulesFor, tooManyRequestsMessage, type Decision, type RateLimiter } from '../../ratelimit/limiter.js';
import { describeError, HttpError } from '../errors.js';
import { bucketKey } from '../guard.js';
import { refusingNul } from '../nul-text.js';

export const SCIM_PREFIX = '/scim/v2';
const SCIM_JSON = 'application/scim+json; charset=utf-8';
const MAX_COUNT = 200;

type Params = { id: string };
type ListQuery = { filter?: string; startIndex?: string; count?: string };

function toScimError(error: unknown): { status: number; detail: string; scimType?: ScimType; headers?: Record<string, string> } {
  if (error instanceof ScimError) return { status: error.status, detail: error.detail, scimType: error.scimType };
  if (error instanceof ConflictError) return { status: 409, detail: error.message, scimType: 'uniqueness' };
  if (error instanceof DomainError) {
    const status = { invalid: 400, forbidden: 403, not_found: 404, conflict: 409 }[error.kind];
    return { status, detail: error.message, ...(error.kind === 'invalid' ? { scimType: 'invalidValue' as const } : {}) };
  }
  const { statusCode, message, headers } = describeError(error);
  const syntax = statusCode === 400 && !(error instanceof HttpError);
  return { status: statusCode, detail: message, headers, ...(syntax ? { scimType: 'invalidSyntax' as const } : {}) };
}

function positiveInt(raw: string | undefined, name: string, fallback: number, min: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw badRequest('invalidValue', `${name} must be a whole number of at least ${min}.`);
  return value;
}

/**
 * SCIM 2.0 provisioning (SPEC §10) in a plugin scope of its own: its own body type, its own
 * authentication (an admin's API token as a Bearer token), and its own error handler, so every
 * failure here is in the SCIM error shape.
 */
export async function scimRoutes(
  app: FastifyInstance,
  deps: { store: Store; clock: Clock; config: Config; limiter: RateLimiter },
): Promise<void> {
  const { store, clock } = deps;
  const authFailures = AuthFailureLimiter.configured(deps.limiter, deps.config.limits);
  const apiRules = rulesFor(deps.config.limits.api);
  const retryAfter = (decision: Decision) => ({ 'Retry-After': String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))) });
  const base = deps.config.publicUrl + SCIM_PREFIX;

  await app.register(
    async (scope) => {
      // The app's guard answers to apiToken headers and cookies; SCIM clients authenticate below instead.
      scope.addHook('onRoute', (route) => {
        route.config = { ...(route.config ?? {}), public: true };
        route.schema = { ...(route.schema ?? {}), hide: true };
      });
      const parseJson = refusingNul(scope.getDefaultJsonParser('error', 'error'));
      scope.addContentTypeParser('application/scim+json', { parseAs: 'string' }, parseJson);
      // The app answers text/plain with 415; a SCIM client's text is read, and refused as invalidSyntax.
      scope.addContentTypeParser('text/plain', { parseAs: 'string' }, (_request, body, done) => done(null, body));
      scope.setErrorHandler((error, request, reply) => {
        const { status, detail, scimType, headers = {} } = toScimError(error);
        // A 503 is the store's "not now" (a lock, an import under way), with when to try again.
        if (status === 503) request.log.warn({ err: error }, 'SCIM request refused for now');
        else if (status >= 500) request.log.error({ err: error }, 'SCIM request failed');
        reply
          .code(status)
          .headers(headers)
          .type(SCIM_JSON)
          .send(scimErrorBody(status, detail, scimType));
      });
      const noEndpoint = (request: FastifyRequest) => {
        const path = (request.url.split('?')[0] ?? '').slice(0, 200);
        return new ScimError(404, `There is no ${request.method} ${path} endpoint.`);
      };
      scope.setNotFoundHandler((request, reply) => {
        const { status, detail } = noEndpoint(request);
        reply.code(status).type(SCIM_JSON).send(scimErrorBody(status, detail));
      });

      const callers = new WeakMap<FastifyRequest, ScimCaller>();
      scope.addHook('onRequest', async (request, reply) => {
        const header = request.headers.authorization ?? '';
        const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
        if (!match) throw new ScimError(401, "An admin's API token is required as Authorization: Bearer <token>.");
        // Counted and limited like the guard's tokens: guessing costs the guesser, not the store.
        const secret = match[1]!;
        const attempt = await authFailures.attempt(
          request.ip,
          secret,
          () => authenticate(store, secret, clock.now()),
          (r) => r.ok,
        );
        if (attempt.outcome === 'limited') {
          reply.headers(retryAfter(attempt.decision));
          throw new ScimError(429, tooManyRequestsMessage(attempt.decision.exceeded!));
        }
        const result = attempt.result;
        if (!result.ok) throw new ScimError(401, result.error);
        if (result.principal.user.role !== 'admin') throw new ScimError(403, "SCIM provisioning needs an admin's API token.");
        const decision = await deps.limiter.consume(bucketKey('api', result.principal), apiRules);
        if (!decision.allowed) {
          reply.headers(retryAfter(decision));
          throw new ScimError(429, tooManyRequestsMessage(decision.exceeded!));
        }
        callers.set(request, {
          orgId: result.principal.orgId,
          actor: { user: result.principal.user, ipAddress: request.ip },
          now: clock.now(),
        });
      });
      const callerOf = (request: FastifyRequest): ScimCaller => callers.get(request)!;
      const send = (reply: FastifyReply, status: number, body: unknown) => reply.code(status).type(SCIM_JSON).send(body);

      // Ahead of the console's catch-all, which would answer any other path under /scim/v2 with its page.
      scope.all('/*', async (request) => {
        throw noEndpoint(request);
      });
      scope.get('/ServiceProviderConfig', async (_request, reply) => send(reply, 200, serviceProviderConfig(base)));
      scope.get('/ResourceTypes', async (_request, reply) => send(reply, 200, listResponse(resourceTypes(base), 1, 10)));
      scope.get('/Schemas', async (_request, reply) => send(reply, 200, listResponse(schemaDefinitions(base), 1, 10)));

      scope.post('/Users', async (request, reply) => {
        const user = await createScimUser(store, callerOf(request), userFromResource(request.body));
        return send(reply.header('Location', `${base}/Users/${user.id}`), 201, scimUser(user, base));
      });
      scope.get<{ Params: Params }>('/Users/:id', async (request, reply) =>
        send(reply, 200, scimUser(await readScimUser(store, callerOf(request).orgId, request.params.id), base)),
      );
      scope.get<{ Querystring: ListQuery }>('/Users', async (request, reply) => {
        const { filter, startIndex, count } = request.query;
        const where = filter ? parseEqualityFilter(filter, ['userName', 'externalId']) : null;
        const users = await store.identity(
          callerOf(request).orgId,
          (tx) =>
            tx.listScimUsers(
              where
                ? {
                    attribute: where.attribute === 'userName' ? 'email' : 'externalId',
                    value: where.attribute === 'userName' ? where.value.trim().toLowerCase() : where.value,
                  }
                : null,
            ),
          'readOnly',
        );
        const page = listResponse(
          users,
          positiveInt(startIndex, 'startIndex', 1, 1),
          Math.min(MAX_COUNT, positiveInt(count, 'count', 100, 0)),
        );
        return send(reply, 200, { ...page, Resources: page.Resources.map((u) => scimUser(u, base)) });
      });
      scope.put<{ Params: Params }>('/Users/:id', async (request, reply) => {
        const fields = userFromResource(request.body);
        return send(reply, 200, scimUser(await updateScimUser(store, callerOf(request), request.params.id, fields), base));
      });
      scope.patch<{ Params: Params }>('/Users/:id', async (request, reply) => {
        const fields = userFromPatch(patchOperations(request.body));
        return send(reply, 200, scimUser(await updateScimUser(store, callerOf(request), request.params.id, fields), base));
      });
      // Deactivated, never erased: the person's coaching history stays.
      scope.delete<{ Params: Params }>('/Users/:id', async (request, reply) => {
        await updateScimUser(store, callerOf(request), request.params.id, { active: false });
        return reply.code(204).send();
      });

      const groupBody = async (orgId: string, id: string) => {
        const { group, members } = await readScimGroup(store, orgId, id);
        return scimGroup(group, members, base);
      };
      scope.post('/Groups', async (request, reply) => {
        const caller = callerOf(request);
        const group = await createScimGroup(store, caller, groupFromResource(request.body));
        return send(reply.header('Location', `${base}/Groups/${group.id}`), 201, await groupBody(caller.orgId, group.id));
      });
      scope.get<{ Params: Params }>('/Groups/:id', async (request, reply) =>
        send(reply, 200, await groupBody(callerOf(request).orgId, request.params.id)),
      );
      scope.get<{ Querystring: ListQuery & { excludedAttributes?: string } }>('/Groups', async (request, reply) => {
        const { filter, startIndex, count, excludedAttributes } = request.query;
        const where = filter ? parseEqualityFilter(filter, ['displayName']) : null;
        const orgId = callerOf(request).orgId;
        const withoutMembers = /(^|,)\s*members\s*(,|$)/i.test(excludedAttributes ?? '');
        const listed = await store.identity(
          orgId,
          async (tx) => {
            const groups = await tx.listGroups(where?.value ?? null);
            return Promise.all(groups.map(async (g) => ({ group: g, members: withoutMembers ? [] : await tx.membersOf(g.id) })));
          },
          'readOnly',
        );
        const page = listResponse(
          listed,
          positiveInt(startIndex, 'startIndex', 1, 1),
          Math.min(MAX_COUNT, positiveInt(count, 'count', 100, 0)),
        );
        const resources = page.Resources.map(({ group, members }) => {
          const body = scimGroup(group, members, base);
          if (!withoutMembers) return body;
          const { members: _members, ...rest } = body;
          return rest;
        });
        return send(reply, 200, { ...page, Resources: resources });
      });
      scope.put<{ Params: Params }>('/Groups/:id', async (request, reply) => {
        const caller = callerOf(request);
        await replaceScimGroup(store, caller, request.params.id, groupFromResource(request.body));
        return send(reply, 200, await groupBody(caller.orgId, request.params.id));
      });
      scope.patch<{ Params: Params }>('/Groups/:id', async (request, reply) => {
        const caller = callerOf(request);
        await patchScimGroup(store, caller, request.params.id, patchOperations(request.body));
        // Okta and Entra accept 204 for a group PATCH; the group is not sent back (it can hold thousands of members).
        return reply.code(204).send();
      });
      scope.delete<{ Params: Params }>('/Groups/:id', async (request, reply) => {
        await deleteScimGroup(store, callerOf(request), request.params.id);
        return reply.code(204).send();
      });
    },
    { prefix: SCIM_PREFIX },
  );
}
