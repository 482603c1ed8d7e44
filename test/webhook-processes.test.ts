import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { storeBackends, tempDir, type Backend, type TestDatabase } from './helpers/backends.js';
import { pollUntil } from './helpers/deadline.js';
import { runCli, startServe, type ServeProcess } from './helpers/processes.js';
import { WebhookReceiver } from './helpers/webhook-receiver.js';

/** Environment of a `coachport serve` that delivers to a loopback receiver quickly and retries every second. */
function serveEnv(database: TestDatabase): Record<string, string> {
  const url = database.config.kind === 'sqlite' ? database.config.file : database.config.url;
  return {
    DATABASE_URL: url,
    LOG_LEVEL: 'warn',
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_TIMEOUT_MS: '1000',
    WEBHOOK_RETRY_SCHEDULE: '1,1,1,1,1,1,1,1,1,1',
    DELIVERY_POLL_MS: '50',
    RATE_LIMIT_API_PER_SECOND: '1000',
    RATE_LIMIT_API_PER_MINUTE: '100000',
  };
}

async function api(server: ServeProcess, token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { apiToken: token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined, text };
}

/** An organization with an admin token and an agent, made through the command line as an operator would. */
async function organization(cwd: string, env: Record<string, string>, server: ServeProcess) {
  const created = await runCli(['org', 'create', '--name', 'Durable', '--admin-email', 'ops@durable.test', '--json'], { cwd, env });
  assert.equal(created.code, 0, created.stderr);
  const token = JSON.parse(created.stdout).token as string;
  const agent = await api(server, token, 'POST', '/api/v1/users', { email: 'agent@durable.test', name: 'Dee Agent', role: 'agent' });
  assert.equal(agent.status, 201, agent.text);
  return { token, agentId: agent.json.id as string };
}

const distinct = (receiver: WebhookReceiver, status = 200) =>
  new Set(receiver.received.filter((r) => r.answered === status).map((r) => r.id));

for (const backend of (await storeBackends()) as Backend[]) {
  describe(`deliveries across a crash (${backend.name})`, () => {
    let database: TestDatabase;
    let cwd: string;
    let receiver: WebhookReceiver;
    const servers: ServeProcess[] = [];

    before(async () => {
      database = await backend.create();
      cwd = tempDir();
      receiver = await new WebhookReceiver().start();
    });
    after(async () => {
      await Promise.all(servers.map((s) => s.stop('SIGKILL')));
      await receiver.close();
      await database.drop();
      fs.rmSync(cwd, { recursive: true, force: true });
    });

    it('delivers every event after the process is killed with SIGKILL and started again', async () => {
      const env = serveEnv(database);
      const first = await startServe({ cwd, env });
      servers.push(first);
      const { token, agentId } = await organization(cwd, env, first);
      const hook = await api(first, token, 'POST', '/api/v1/webhooks', { url: `${receiver.url}/crash`, events: ['session.created'] });
      assert.equal(hook.status, 201, hook.text);
      receiver.secrets.push(hook.json.secret);
      // The receiver is failing: every event stays pending, being retried.
      receiver.answer = () => ({ status: 503 });
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) {
        const created = await api(first, token, 'POST', '/api/v1/coaching/sessions', { coachingFormName: `Crash ${i}`, agentId });
        assert.equal(created.status, 201, created.text);
        ids.push(created.json._id);
      }
      await pollUntil(() => receiver.received.length >= 5, 'some failed attempts before the kill');
      assert.equal(await first.stop('SIGKILL'), null);
      receiver.answer = () => ({ status: 200 });

      const second = await startServe({ cwd, env });
      servers.push(second);
      await pollUntil(() => distinct(receiver).size === 20, 'all 20 events after the restart', 60_000);
      const delivered = receiver.received.filter((r) => r.answered === 200);
      assert.deepEqual(new Set(delivered.map((r) => r.json.data.session._id)), new Set(ids));
      assert.ok(
        delivered.every((r) => r.verifiedWith.length === 1),
        'every delivery signed',
      );
    });
  });
}

const [, postgres] = await storeBackends();
describe('two processes on one PostgreSQL database', { skip: postgres ? false : 'PostgreSQL is not reachable' }, () => {
  let database: TestDatabase;
  let cwd: string;
  let receiver: WebhookReceiver;
  let servers: ServeProcess[] = [];

  before(async () => {
    database = await postgres!.create();
    cwd = tempDir();
    receiver = await new WebhookReceiver().start();
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await receiver.close();
    await database.drop();
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('sends each delivery once', async () => {
    const env = serveEnv(database);
    servers = await Promise.all([startServe({ cwd, env }), startServe({ cwd, env })]);
    const [a, b] = servers as [ServeProcess, ServeProcess];
    const { token, agentId } = await organization(cwd, env, a);
    for (const path of ['/one', '/two']) {
      const hook = await api(a, token, 'POST', '/api/v1/webhooks', { url: `${receiver.url}${path}`, events: ['*'] });
      assert.equal(hook.status, 201, hook.text);
      receiver.secrets.push(hook.json.secret);
    }
    for (let i = 0; i < 30; i++) {
      const server = i % 2 === 0 ? a : b;
      const created = await api(server, token, 'POST', '/api/v1/coaching/sessions', { coachingFormName: `Shared work ${i}`, agentId });
      assert.equal(created.status, 201, created.text);
      assert.equal((await api(server, token, 'POST', `/api/v1/coaching/sessions/${created.json._id}/share`)).status, 200);
    }
    const expected = 30 * 2 * 2;
    await pollUntil(() => receiver.received.length >= expected, `${expected} deliveries`, 60_000);
    // Quiet time for any second send to show itself.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(receiver.received.length, expected, 'no delivery sent twice');
    for (const path of ['/one', '/two']) {
      assert.equal(new Set(receiver.received.filter((r) => r.path === path).map((r) => r.id)).size, expected / 2);
    }
  });
});
