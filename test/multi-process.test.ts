import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { postgresBackend, REDIS_TEST_URL, tempDir, type TestDatabase } from './helpers/backends.js';
import { point, session } from './helpers/fixtures.js';
import { runCli, startServe, type ServeProcess } from './helpers/processes.js';
import { deleteKeys, keysUnder, testRedisPrefix } from './helpers/limiters.js';
import { redisUnavailable } from './helpers/redis.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

const postgres = await postgresBackend();
if (postgres.unavailable && process.env.CI) throw new Error(`CI requires PostgreSQL: ${postgres.unavailable}`);
const skip = postgres.unavailable ?? (await redisUnavailable());
if (postgres.unavailable) process.stdout.write(`# skipping the multi-process test: ${postgres.unavailable}\n`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const WINDOW = { startDate: '2027-01-01', endDate: '2027-01-31', timeAxis: 'createdAt' };

describe('three coachport processes on one PostgreSQL and one Redis', { skip: skip ?? false }, () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let cwd: string;
  let servers: ServeProcess[] = [];
  let token: string;
  const redisPrefix = testRedisPrefix();

  let env: Record<string, string>;

  const exportFrom = async (server: ServeProcess, as = token) => {
    const response = await fetch(`${server.url}/api/v1/coaching-sessions`, {
      method: 'POST',
      headers: { apiToken: as, 'content-type': 'application/json' },
      body: JSON.stringify(WINDOW),
    });
    return { status: response.status, text: await response.text(), at: Date.now() };
  };

  before(async () => {
    database = await postgres.create();
    const redis = new URL(REDIS_TEST_URL);
    proxy = new TcpProxy(redis.hostname, Number(redis.port || 6379));
    await proxy.start();
    cwd = tempDir();
    env = {
      DATABASE_URL: (database.config as { url: string }).url,
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      REDIS_KEY_PREFIX: redisPrefix,
      LOG_LEVEL: 'warn',
    };
    // Started together: their migrations race, and the advisory lock must make that safe.
    servers = await Promise.all([0, 1, 2].map(() => startServe({ cwd, env })));
    const created = await runCli(['org', 'create', '--name', 'Scale', '--admin-email', 'ops@scale.test', '--json'], { cwd, env });
    assert.equal(created.code, 0, created.stderr);
    token = JSON.parse(created.stdout).token;
  });

  after(async () => {
    try {
      await Promise.all(servers.map((s) => s.stop()));
      await proxy.cut();
      await database.drop();
      fs.rmSync(cwd, { recursive: true, force: true });
    } finally {
      await deleteKeys(redisPrefix);
    }
  });

  it('exports what one process wrote identically from the other two', async () => {
    const a = session({ createdAt: '2027-01-05T10:00:00.000Z' });
    const b = session({ createdAt: '2027-01-06T10:00:00.000Z' });
    a.coachingPoints = [point([a._id, b._id])];
    b.coachingPoints = a.coachingPoints;
    const imported = await fetch(`${servers[0]!.url}/api/v1/coaching-sessions/import`, {
      method: 'POST',
      headers: { apiToken: token, 'content-type': 'application/json' },
      body: JSON.stringify([a, b]),
    });
    assert.equal(imported.status, 200, await imported.text());
    const second = await exportFrom(servers[1]!);
    assert.equal(second.status, 200, second.text);
    await sleep(1_100);
    const third = await exportFrom(servers[2]!);
    assert.equal(third.status, 200, third.text);
    assert.equal(third.text, second.text);
    assert.deepEqual(JSON.parse(second.text), [a, b]);
  });

  it('admits one export a second in total, whichever processes the requests reach', async () => {
    for (let burst = 0; burst < 3; burst++) {
      await sleep(1_100);
      const replies = await Promise.all(Array.from({ length: 9 }, (_, i) => exportFrom(servers[i % 3]!)));
      const statuses = replies.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 429, 429, 429, 429, 429, 429, 429, 429], `burst ${burst}`);
      for (const refused of replies.filter((r) => r.status === 429)) {
        assert.deepEqual(JSON.parse(refused.text), { error: 'Too many requests in the past second.' });
      }
    }
    assert.ok((await keysUnder(redisPrefix)).length > 0, 'the shared limits are kept under REDIS_KEY_PREFIX');
  });

  it('admits 30 exports a minute in total, then names the minute', async () => {
    // An organization of its own, so the count starts at zero whatever the tests before exported.
    const created = await runCli(['org', 'create', '--name', 'Minute', '--admin-email', 'ops@minute.test', '--json'], { cwd, env });
    assert.equal(created.code, 0, created.stderr);
    const own: string = JSON.parse(created.stdout).token;
    let admitted = 0;
    let minuteRefusal: { status: number; text: string } | null = null;
    for (let i = 0; i < 40 && !minuteRefusal; i++) {
      if (i > 0) await sleep(1_050);
      const reply = await exportFrom(servers[i % 3]!, own);
      if (reply.status === 200) admitted++;
      else if (JSON.parse(reply.text).error === 'Too many requests in the past minute.') minuteRefusal = reply;
      else assert.fail(`unexpected refusal: ${reply.text}`);
    }
    assert.ok(minuteRefusal, 'the minute limit was reached');
    assert.equal(admitted, 30);
  });

  it('keeps every process answering when Redis goes away, and reports not ready until it is back', async () => {
    await proxy.cut();
    for (const server of servers) {
      const reply = await exportFrom(server);
      assert.ok([200, 429].includes(reply.status), `${server.url} answered ${reply.status}: ${reply.text}`);
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      assert.equal((await fetch(`${server.url}/readyz`)).status, 503);
    }
    await proxy.restore();
    for (const server of servers) {
      let ready = false;
      for (let i = 0; i < 50 && !ready; i++) {
        ready = (await fetch(`${server.url}/readyz`)).status === 200;
        if (!ready) await sleep(100);
      }
      assert.ok(ready, `${server.url} is ready again`);
    }
    for (const server of servers) assert.ok(!/"level":50/.test(server.output()), 'no errors were logged');
  });
});
