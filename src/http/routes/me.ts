import type { FastifyInstance } from 'fastify';
import { ErrorSchema } from '../../contract/schemas.js';
import { PreferencesSchema, UpdatePreferencesBody } from '../../contract/webhook-schemas.js';
import { notFound } from '../../coaching/errors.js';
import type { Store } from '../../store/store.js';
import { actorOf } from '../actor.js';

const errors = { '4xx': ErrorSchema };
const tags = ['Me'];

/** The caller's own settings, for every role: the notification mails and their language (SPEC §11). */
export function meRoutes(app: FastifyInstance, deps: { store: Store }): void {
  const read = async (orgId: string, userId: string) => {
    const found = await deps.store.accounts(orgId, (tx) => tx.getPreferences(userId), 'readOnly');
    if (!found) throw notFound('user', userId);
    return found;
  };
  app.get(
    '/api/v1/me',
    { schema: { summary: 'Your own settings', tags, response: { 200: PreferencesSchema, ...errors } } },
    async (request) => {
      const actor = actorOf(request);
      return read(actor.orgId, actor.user.id);
    },
  );
  app.patch<{ Body: UpdatePreferencesBody }>(
    '/api/v1/me',
    {
      schema: {
        summary: 'Change your own settings',
        description:
          'emailNotifications: false stops the mails about sessions (invites still come). The console sets language when you pick one.',
        tags,
        body: UpdatePreferencesBody,
        response: { 200: PreferencesSchema, ...errors },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      await deps.store.accounts(actor.orgId, (tx) => tx.setPreferences(actor.user.id, request.body));
      return read(actor.orgId, actor.user.id);
    },
  );
}
