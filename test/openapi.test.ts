import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { point, session, todo } from './helpers/fixtures.js';
import { startTestServer, type TestServer } from './helpers/server.js';

describe('OpenAPI description', () => {
  let server: TestServer;
  let token: string;
  let document: any;

  before(async () => {
    server = await startTestServer();
    ({ token } = await server.createOrg());
    const reply = await server.request('GET', '/openapi.json');
    assert.equal(reply.status, 200);
    document = reply.json;
  });
  after(() => server.close());

  it('is OpenAPI 3.1 and describes every route the server has', async () => {
    assert.equal(document.openapi, '3.1.0');
    const documented = new Set<string>();
    for (const [path, operations] of Object.entries(document.paths as Record<string, object>)) {
      for (const method of Object.keys(operations)) documented.add(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`);
    }
    const expected = [
      'POST /api/v1/coaching-sessions',
      'POST /api/v1/coaching-sessions/import',
      'POST /api/v1/users',
      'GET /api/v1/users',
      'POST /api/v1/tokens',
      'GET /api/v1/tokens',
      'DELETE /api/v1/tokens/:id',
      'POST /api/v1/coaching-templates',
      'GET /api/v1/coaching-templates',
      'PATCH /api/v1/coaching-templates/:id',
      'POST /api/v1/coaching/sessions',
      'GET /api/v1/coaching/sessions/:id',
      'PATCH /api/v1/coaching/sessions/:id',
      'DELETE /api/v1/coaching/sessions/:id',
      'POST /api/v1/coaching/sessions/:id/share',
      'POST /api/v1/coaching/sessions/:id/confirm',
      'POST /api/v1/coaching/points',
      'PATCH /api/v1/coaching/points/:id',
      'DELETE /api/v1/coaching/points/:id',
      'POST /api/v1/coaching/todos',
      'PATCH /api/v1/coaching/todos/:id',
      'DELETE /api/v1/coaching/todos/:id',
      'GET /healthz',
      'GET /readyz',
      'POST /api/v1/auth/sign-in',
      'POST /api/v1/auth/sign-out',
      'GET /api/v1/auth/me',
      'GET /api/v1/auth/invites/:token',
      'POST /api/v1/auth/invites/:token',
      'PATCH /api/v1/users/:id',
      'POST /api/v1/users/:id/invite',
      'GET /api/v1/directory',
      'GET /api/v1/coaching/sessions',
      'GET /api/v1/audit-log',
      'GET /api/v1/identity/role-mapping',
      'PUT /api/v1/identity/role-mapping',
      'GET /api/v1/identity/oidc',
      'PUT /api/v1/identity/oidc',
      'DELETE /api/v1/identity/oidc',
      'GET /api/v1/auth/oidc/:organizationId/start',
      'GET /api/v1/auth/oidc/callback',
    ];
    for (const route of expected) assert.ok(documented.has(route), `${route} is documented`);
    assert.deepEqual(document.components.securitySchemes.apiToken, { type: 'apiKey', in: 'header', name: 'apiToken' });
    assert.deepEqual(document.components.securitySchemes.browserSession, { type: 'apiKey', in: 'cookie', name: 'coachport_session' });
    assert.deepEqual(document.paths['/api/v1/auth/sign-in'].post.security, [], 'signing in needs no credential');
  });

  it('documents the export response with the schema real responses satisfy', async () => {
    const s = session({ createdAt: '2026-01-02T03:04:05.678Z', coachNotes: 'ü\n"' });
    s.activityLog = [
      { userId: 'u', userEmail: null, actionType: 'created', descriptions: ['x'], timestamp: '2026-01-02T03:04:05.678Z', ipAddress: null },
    ];
    s.coachingPoints = [point([s._id], { type: 'n/a', classification: 'productivity', score: '9' })];
    s.todos = [todo([s._id], { completedAt: '2026-01-03T00:00:00.000Z', status: 'complete' })];
    const bare = session({
      createdAt: '2026-01-02T04:00:00.000Z',
      meetingDate: null,
      coachingTemplateId: null,
      coachingTemplateName: null,
    });
    assert.equal((await server.request('POST', '/api/v1/coaching-sessions/import', { token, body: [s, bare] })).status, 200);
    const reply = await server.exportSessions(token, { startDate: '2026-01-02', endDate: '2026-01-02', timeAxis: 'createdAt' });
    const docs = reply.json as Array<Record<string, unknown>>;
    assert.equal(docs.length, 2);

    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const operation = document.paths['/api/v1/coaching-sessions'].post;
    const schema = operation.responses['200'].content['application/json'].schema;
    const validate = ajv.compile(schema);
    assert.ok(validate(docs), JSON.stringify(validate.errors));
    assert.ok(!validate([{ ...docs[0], isDeleted: 'no' }]), 'the schema is strict enough to catch a wrong type');

    const body = operation.requestBody.content['application/json'].schema;
    assert.deepEqual(body.required.sort(), ['endDate', 'startDate', 'timeAxis']);
  });

  it('serves a documentation page at /docs without a token', async () => {
    const page = await server.request('GET', '/docs/');
    assert.equal(page.status, 200);
    assert.match(page.text, /swagger|openapi/i);
  });
});
