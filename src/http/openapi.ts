import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';

export const DOCS_PREFIX = '/docs';

/**
 * OpenAPI 3.1 generated from the route schemas, the same ones that validate requests, at
 * /openapi.json, and a readable page at /docs. Both are public: the contract is not a secret.
 */
export async function installOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Coachport',
        version: '1',
        description:
          'The Coaching Export API and the coaching API that feeds it. Every request carries an API token in the `apiToken` header, or (the console) the `coachport_session` cookie from signing in, with the `X-CSRF-Token` header on every write. Every error is `{"error": "<one sentence>"}`.',
      },
      components: {
        securitySchemes: {
          apiToken: { type: 'apiKey', in: 'header', name: 'apiToken' },
          browserSession: { type: 'apiKey', in: 'cookie', name: 'coachport_session' },
        },
      },
      security: [{ apiToken: [] }, { browserSession: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX });
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
}
