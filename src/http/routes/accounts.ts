import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { describeToken } from '../../accounts/tokens.js';
import { createTemplate, createTokenFor, createUser, inviteUser, revokeToken, updateUser, visibleTokens } from '../../accounts/users.js';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import { DirectorySchema, InviteUrlSchema, UpdateUserBody, UserWithInviteSchema } from '../../contract/account-schemas.js';
import { notFound } from '../../coaching/errors.js';
import {
  CreateTemplateBody,
  CreateTokenBody,
  CreateUserBody,
  IdParams,
  IssuedTokenSchema,
  RenameTemplateBody,
  TemplateSchema,
  TokenSchema,
  UserSchema,
} from '../../contract/coaching-schemas.js';
import { isoString as iso } from '../../contract/dates.js';
import { ErrorSchema } from '../../contract/schemas.js';
import type { Store } from '../../store/store.js';
import { auditEntry, target } from '../../audit/audit.js';
import { actorOf } from '../actor.js';
import { refuseBody } from '../no-body.js';

const errors = { '4xx': ErrorSchema };

export function accountRoutes(app: FastifyInstance, deps: { store: Store; clock: Clock; config: Config }): void {
  const { store, clock, config } = deps;

  app.post<{ Body: CreateUserBody }>(
    '/api/v1/users',
    {
      schema: {
        summary: 'Create a user, with the invite link that lets them set a password',
        description: "The link works once and for 7 days; nobody chooses another person's password.",
        tags: ['Users'],
        body: CreateUserBody,
        response: { 201: UserWithInviteSchema, ...errors },
      },
      config: { roles: ['admin'] },
    },
    async (request, reply) => reply.code(201).send(await createUser(store, actorOf(request), request.body, config.publicUrl, clock.now())),
  );
  app.get(
    '/api/v1/users',
    {
      schema: { summary: 'List the users of the organization', tags: ['Users'], response: { 200: Type.Array(UserSchema), ...errors } },
      config: { roles: ['admin'] },
    },
    async (request) => store.listAccounts(actorOf(request).orgId),
  );
  app.patch<{ Params: IdParams; Body: UpdateUserBody }>(
    '/api/v1/users/:id',
    {
      schema: {
        summary: "Change a user's name, email, role or active flag",
        description:
          "Deactivating ends the user's browser sessions and makes their tokens fail at once; their sessions and log entries stay. " +
          'The last active admin cannot be deactivated or demoted (409).',
        tags: ['Users'],
        params: IdParams,
        body: UpdateUserBody,
        response: { 200: UserSchema, ...errors },
      },
      config: { roles: ['admin'] },
    },
    async (request) => updateUser(store, actorOf(request), request.params.id, request.body, clock.now()),
  );
  app.post<{ Params: IdParams }>(
    '/api/v1/users/:id/invite',
    {
      preValidation: refuseBody,
      schema: {
        summary: 'A new invite link for a user (also the password reset)',
        description: 'Older unused links of the user stop working.',
        tags: ['Users'],
        params: IdParams,
        response: { 200: InviteUrlSchema, ...errors },
      },
      config: { roles: ['admin'] },
    },
    async (request) => {
      const actor = actorOf(request);
      return { inviteUrl: await inviteUser(store, actor, actor.orgId, request.params.id, config.publicUrl, clock.now()) };
    },
  );
  app.get(
    '/api/v1/directory',
    {
      schema: {
        summary: 'The active people of the organization (no emails), to pick a coach or an agent',
        tags: ['Users'],
        response: { 200: DirectorySchema, ...errors },
      },
    },
    async (request) => {
      const people = (await store.listAccounts(actorOf(request).orgId)).filter((u) => u.active);
      people.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
      return { users: people.map(({ id, name, role }) => ({ id, name, role })) };
    },
  );

  app.post<{ Body: CreateTokenBody }>(
    '/api/v1/tokens',
    {
      schema: {
        summary: 'Create an API token',
        description:
          'For yourself, or (admins) for any user of the organization. 90 days by default; expiresInDays null for none. ' +
          'The secret is in this response only.',
        tags: ['Tokens'],
        body: CreateTokenBody,
        response: { 201: IssuedTokenSchema, ...errors },
      },
    },
    async (request, reply) => {
      const issued = await createTokenFor(store, actorOf(request), request.body ?? {}, clock.now());
      return reply.code(201).send({ ...describeToken(issued.token, clock.now()), token: issued.secret });
    },
  );
  app.get(
    '/api/v1/tokens',
    {
      schema: {
        summary: 'List tokens (admins: all; others: their own), never the secrets',
        tags: ['Tokens'],
        response: { 200: Type.Array(TokenSchema), ...errors },
      },
    },
    async (request) => (await visibleTokens(store, actorOf(request))).map((t) => describeToken(t, clock.now())),
  );
  app.delete<{ Params: IdParams }>(
    '/api/v1/tokens/:id',
    { schema: { summary: 'Deactivate a token', tags: ['Tokens'], params: IdParams, response: { 200: TokenSchema, ...errors } } },
    async (request) => describeToken(await revokeToken(store, actorOf(request), request.params.id, clock.now()), clock.now()),
  );

  app.post<{ Body: CreateTemplateBody }>(
    '/api/v1/coaching-templates',
    {
      schema: {
        summary: 'Create a coaching template',
        tags: ['Templates'],
        body: CreateTemplateBody,
        response: { 201: TemplateSchema, ...errors },
      },
      config: { roles: ['admin', 'coach'] },
    },
    async (request, reply) => {
      const now = clock.now();
      const template = await createTemplate(store, actorOf(request), request.body.name, now);
      return reply.code(201).send({ ...template, createdAt: iso(now) });
    },
  );
  app.patch<{ Params: IdParams; Body: RenameTemplateBody }>(
    '/api/v1/coaching-templates/:id',
    {
      schema: {
        summary: 'Rename a coaching template',
        description:
          'Admins. Every session made from the template shows the new name, in its export document and change feed, ' +
          'from the same transaction on.',
        tags: ['Templates'],
        params: IdParams,
        body: RenameTemplateBody,
        response: { 200: TemplateSchema, ...errors },
      },
      config: { roles: ['admin'] },
    },
    async (request) => {
      const actor = actorOf(request);
      const { orgId } = actor;
      const { id } = request.params;
      const now = clock.now();
      const audit = auditEntry(actor, 'template_updated', target.template(id), { fields: ['name'] }, now);
      if (!(await store.renameTemplate(orgId, id, request.body.name, now, audit))) throw notFound('coaching template', id);
      const renamed = (await store.listTemplates(orgId)).find((t) => t.id === id)!;
      return { ...renamed, createdAt: iso(renamed.createdAt) };
    },
  );
  app.get(
    '/api/v1/coaching-templates',
    { schema: { summary: 'List coaching templates', tags: ['Templates'], response: { 200: Type.Array(TemplateSchema), ...errors } } },
    async (request) => (await store.listTemplates(actorOf(request).orgId)).map((t) => ({ ...t, createdAt: iso(t.createdAt) })),
  );
}
