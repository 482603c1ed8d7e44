import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, describe, it } from 'node:test';
import { FEED_CURSOR_SECRET_SETTING } from '../src/feed/cursor-secret.js';
import { FEED_START, encodeCursor } from '../src/feed/cursor.js';
import { openStore } from '../src/store/open.js';
import { postgresBackend, storeBackends, tempDir, type Backend, type TestDatabase } from './helpers/backends.js';
import { runCli, startServe, type ServeProcess } from './helpers/processes.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/** The key every release before this one used when FEED_CURSOR_SECRET was not set: public, in its source. */
const OLD_PUBLIC_KEY = 'coachport-feed-cursor-v1';

/** Serves the same database again and again: each server opens it, none drops it. */
function sameDatabase(database: TestDatabase, name: Backend['name']): Backend {
  return { name, unavailable: null, create: async () => ({ config: database.config, drop: async () => undefined }) };
}

async function feedCursor(server: TestServer, token: string, cursor?: string) {
  const query = cursor === undefined ? '' : `?cursor=${encodeURIComponent(cursor)}`;
  return server.request('GET', `/api/v1/coaching-sessions/changes${query}`, { token });
}

for (const backend of await storeBackends()) {
  describe(`the feed cursor key without FEED_CURSOR_SECRET (${backend.name})`, () => {
    const databases: TestDatabase[] = [];
    after(() => Promise.all(databases.map((d) => d.drop())));

    it('is random, kept in the database, and survives a restart; the old public constant is refused', async () => {
      const database = await backend.create();
      databases.push(database);
      const first = await startTestServer({ backend: sameDatabase(database, backend.name) });
      assert.equal(first.config.feedCursorSecret, null, 'the test runs without FEED_CURSOR_SECRET');
      const admin = await first.createOrg();
      const issued = await feedCursor(first, admin.token);
      assert.equal(issued.status, 200, issued.text);
      const cursor: string = issued.json.cursor;
      assert.equal((await feedCursor(first, admin.token, cursor)).status, 200);
      await first.close();

      const again = await startTestServer({ backend: sameDatabase(database, backend.name) });
      try {
        const after = await feedCursor(again, admin.token, cursor);
        assert.equal(after.status, 200, `the restarted server accepts the cursor it issued before: ${after.text}`);
        const forged = await feedCursor(again, admin.token, encodeCursor(OLD_PUBLIC_KEY, admin.orgId, FEED_START));
        assert.equal(forged.status, 400, 'a cursor made with the old public constant is refused');
        assert.match(forged.json.error, /not issued by this server/);
        // 32 random bytes, base64url: the row is the key, and not the constant.
        const kept = await again.store.settingOrCreate(FEED_CURSOR_SECRET_SETTING, 'never-used', 0);
        assert.match(kept, /^[A-Za-z0-9_-]{43}$/);
      } finally {
        await again.close();
      }

      // Another database has another key: the cursor means nothing there.
      const other = await startTestServer({ backend });
      try {
        const otherAdmin = await other.createOrg();
        const mac = cursor.split('.')[1]!;
        const payload = Buffer.from(`${otherAdmin.orgId}\n0\n0`).toString('base64url');
        const sameOrgElsewhere = await feedCursor(other, otherAdmin.token, `${payload}.${mac}`);
        assert.equal(sameOrgElsewhere.status, 400);
        const fresh = await feedCursor(other, otherAdmin.token);
        assert.notEqual(fresh.json.cursor, encodeCursor(OLD_PUBLIC_KEY, otherAdmin.orgId, FEED_START));
      } finally {
        await other.close();
      }
    });

    it('is made once when stores ask at the same moment: every one gets the first write', async () => {
      const database = await backend.create();
      databases.push(database);
      // Opened one after another (the migrations are not the race here), then asked all at once.
      const stores = [];
      for (let i = 0; i < 4; i++) stores.push(await openStore(database.config));
      try {
        const keys = await Promise.all(stores.map((store, i) => store.settingOrCreate('race', `proposal-${i}`, 0)));
        assert.equal(new Set(keys).size, 1, keys.join(', '));
        assert.match(keys[0]!, /^proposal-[0-3]$/);
      } finally {
        await Promise.all(stores.map((store) => store.close()));
      }
    });
  });
}

const postgres = await postgresBackend();
if (postgres.unavailable && process.env.CI) throw new Error(`CI requires PostgreSQL: ${postgres.unavailable}`);
if (postgres.unavailable) process.stdout.write(`# skipping the two-process cursor test: ${postgres.unavailable}\n`);

describe('two coachport processes on one PostgreSQL without FEED_CURSOR_SECRET', { skip: postgres.unavailable ?? false }, () => {
  let database: TestDatabase;
  let servers: ServeProcess[] = [];
  let cwd: string;
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await database?.drop();
    if (cwd) fs.rmSync(cwd, { recursive: true, force: true });
  });

  it("accept each other's cursors, though both started at once on an empty database", async () => {
    database = await postgres.create();
    cwd = tempDir();
    const url = (database.config as { url: string }).url;
    const env: Record<string, string> = { DATABASE_URL: url, LOG_LEVEL: 'warn', FEED_CURSOR_SECRET: '' };
    servers = await Promise.all([0, 1].map(() => startServe({ cwd, env })));
    const created = await runCli(['org', 'create', '--name', 'Twins', '--admin-email', 'ops@twins.test', '--json'], { cwd, env });
    assert.equal(created.code, 0, created.stderr);
    const token: string = JSON.parse(created.stdout).token;
    const read = async (server: ServeProcess, cursor?: string) => {
      const query = cursor === undefined ? '' : `?cursor=${encodeURIComponent(cursor)}`;
      const response = await fetch(`${server.url}/api/v1/coaching-sessions/changes${query}`, { headers: { apiToken: token } });
      return { status: response.status, body: (await response.json()) as { cursor: string; error?: string } };
    };
    const [a, b] = servers as [ServeProcess, ServeProcess];
    const fromA = await read(a);
    const fromB = await read(b);
    assert.equal(fromA.status, 200);
    assert.equal(fromA.body.cursor, fromB.body.cursor, 'the same key on both');
    const aReadsB = await read(a, fromB.body.cursor);
    assert.equal(aReadsB.status, 200, aReadsB.body.error);
    const bReadsA = await read(b, fromA.body.cursor);
    assert.equal(bReadsA.status, 200, bReadsA.body.error);
  });
});
