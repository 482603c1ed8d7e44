import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { postgresBackend, tempDir, type TestDatabase } from './helpers/backends.js';
import { runCli, startServe, type ServeProcess } from './helpers/processes.js';

const postgres = await postgresBackend();
if (postgres.unavailable && process.env.CI) throw new Error(`CI requires PostgreSQL: ${postgres.unavailable}`);
if (postgres.unavailable) process.stdout.write(`# skipping browser sessions across processes: ${postgres.unavailable}\n`);

describe('browser sessions across two coachport processes on one PostgreSQL', { skip: postgres.unavailable ?? false }, () => {
  let database: TestDatabase;
  let cwd: string;
  let servers: ServeProcess[] = [];
  let inviteUrl: string;

  async function call(
    server: ServeProcess,
    method: string,
    path: string,
    options: { cookie?: string; csrf?: string; body?: unknown } = {},
  ) {
    const headers: Record<string, string> = {};
    if (options.cookie) headers.cookie = options.cookie;
    if (options.csrf) headers['x-csrf-token'] = options.csrf;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
  }

  before(async () => {
    database = await postgres.create();
    cwd = tempDir();
    const env = { DATABASE_URL: (database.config as { url: string }).url, LOG_LEVEL: 'warn' };
    servers = await Promise.all([0, 1].map(() => startServe({ cwd, env })));
    const created = await runCli(['org', 'create', '--name', 'Two', '--admin-email', 'admin@two.test', '--json'], {
      cwd,
      env: { ...env, PUBLIC_URL: servers[0]!.url },
    });
    assert.equal(created.code, 0, created.stderr);
    inviteUrl = JSON.parse(created.stdout).inviteUrl;
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await database.drop();
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('signs in on one process, works on the other, and signs out everywhere at once', async () => {
    const [a, b] = servers as [ServeProcess, ServeProcess];
    assert.ok(inviteUrl.startsWith(`${a.url}/invite/`));
    const secret = inviteUrl.split('/invite/')[1]!;
    const accepted = await call(a, 'POST', `/api/v1/auth/invites/${secret}`, { body: { password: 'two processes, one session' } });
    assert.equal(accepted.status, 200);
    const cookie = accepted.headers.get('set-cookie')!.split(';')[0]!;
    const csrf = accepted.json.csrfToken as string;
    assert.equal(
      (await call(b, 'POST', `/api/v1/auth/invites/${secret}`, { body: { password: 'another try, other node' } })).status,
      404,
      'used on A, used on B',
    );

    const me = await call(b, 'GET', '/api/v1/auth/me', { cookie });
    assert.equal(me.status, 200);
    assert.equal(me.json.user.email, 'admin@two.test');
    assert.equal(me.json.csrfToken, csrf);
    assert.equal((await call(b, 'POST', '/api/v1/coaching-templates', { cookie, csrf, body: { name: 'Made on B' } })).status, 201);

    const signIn = await call(b, 'POST', '/api/v1/auth/sign-in', {
      body: { email: 'admin@two.test', password: 'two processes, one session' },
    });
    assert.equal(signIn.status, 200);
    const second = signIn.headers.get('set-cookie')!.split(';')[0]!;
    assert.notEqual(second, cookie);
    assert.equal((await call(b, 'POST', '/api/v1/auth/sign-out', { cookie, csrf })).status, 204);
    assert.equal((await call(a, 'GET', '/api/v1/auth/me', { cookie })).status, 401, 'signed out on B, refused on A');
    assert.equal((await call(a, 'GET', '/api/v1/auth/me', { cookie: second })).status, 200, 'the other session lives on');
  });
});
