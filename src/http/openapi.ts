import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';

export const DOCS_PREFIX = '/docs';

/**
 * The Swagger UI's pages and files: its own scripts, styles and images from this server only (no
 * CDN, no remote validator badge), the contract fetched from here, and never framed. Its bundle
 * sets styles through the CSSOM, which `style-src 'self'` allows. The one inline thing it needs
 * is the <style> inside its top bar's logo (an SVG drawn by React), allowed by its hash alone;
 * a new @fastify/swagger-ui with another logo fails test/security-headers.test.ts in Chromium.
 */
const SWAGGER_LOGO_STYLE = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='";

export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  `style-src 'self' ${SWAGGER_LOGO_STYLE}`,
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

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
          'The Coaching Export API and the coaching API that feeds it. Every request carries an API token in the `apiToken` header, ' +
          'or (the console) the `coachport_session` cookie from signing in, with the `X-CSRF-Token` header on every write. ' +
          'Every error is `{"error": "<one sentence>"}`.',
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
  // validatorUrl null: the UI would otherwise load a badge from validator.swagger.io with our contract's URL.
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX, staticCSP: DOCS_CSP, uiConfig: { validatorUrl: null } });
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
}
