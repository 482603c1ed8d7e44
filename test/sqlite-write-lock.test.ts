import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { createOrganization } from '../src/accounts/organizations.js';
import { authenticate, hashToken } from '../src/accounts/tokens.js';
import { openSqliteStore } from '../src/store/sqlite/open.js';
import type { Store } from '../src/store/store.js';
import { sqliteBackend, type TestDatabase } from './helpers/backends.js';
import { eventually } from './helpers/deadline.js';
import { session } from './helpers/fixtures.js';
import { type Reply, sqliteFileOf, startTestServer, type TestServer } from './helpers/server.js';

/**
 * Another process holding SQLite's write lock (the command line's `coachport import` holds it until
 * it commits) makes the server's writes wait, never its reads, and never its event loop
 * (src/store/sqlite/writer-dialect.ts). The lock is held here by a connection of the test's own.
 */
function holdWriteLock(file: string): { release(): void } {
  const holder = new BetterSqlite3(file);
  holder.pragma('busy_timeout = 0');
  holder.exec('begin immediate');
  return {
    release() {
      holder.exec('commit');
      holder.close();
    },
  };
}

const MINUTE = 60_000;
const WINDOW = { startDate: '2024-05-01', endDate: '2024-05-01', timeAxis: 'createdAt' };

describe('a server whose SQLite file another process is writing', () => {
  let server: TestServer;
  let admin: { orgId: string; userId: string; token: string };
  let file: string;

  before(async () => {
    server = await startTestServer();
    file = sqliteFileOf(server);
    admin = await server.createOrg('Locked');
    const docs = [session({ createdAt: '2024-05-01T08:00:00.000Z' }), session({ createdAt: '2024-05-01T09:00:00.000Z' })];
    assert.equal((await server.request('POST', '/api/v1/coaching-sessions/import', { token: admin.token, body: docs })).status, 200);
  });
  after(() => server.close());

  it('serves reads and exports while a write waits for the lock, and the write goes through once it is free', async () => {
    // The token's last use is older than a minute: the request marks it again, a write of its own.
    server.clock.advance(2 * MINUTE);
    const lock = holdWriteLock(file);
    let released = false;
    try {
      const write = server.request('POST', '/api/v1/coaching-templates', { token: admin.token, body: { name: 'Written after the lock' } });
      const settled = { write: false };
      void write.then(() => (settled.write = true));
      // The write reaches the server and finds the lock taken before the reads below are sent.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const exported = await server.exportSessions(admin.token, WINDOW);
      assert.equal(exported.status, 200, exported.text);
      assert.equal(exported.json.length, 2);
      const listed = await server.request('GET', '/api/v1/coaching-templates', { token: admin.token });
      assert.equal(listed.status, 200, 'a read on the writer connection is not held up by the write waiting');
      // Reads in a transaction of their own begin deferred, and so take no lock.
      for (const path of ['/api/v1/me', '/api/v1/webhooks']) {
        const read = await server.request('GET', path, { token: admin.token });
        assert.equal(read.status, 200, `${path}: ${read.text}`);
      }
      assert.equal(settled.write, false, 'the write still waits for the lock');
      lock.release();
      released = true;
      const written = await write;
      assert.equal(written.status, 201, written.text);
    } finally {
      if (!released) lock.release();
    }
    // The export's audit entry waited for the lock too, without holding the response back.
    const entries = await eventually(
      () => server.store.readAudit(admin.orgId, { fromMs: null, toMs: null, action: 'export', after: null, limit: 10 }),
      (found) => found.length > 0,
      "the export's audit entry",
    );
    assert.equal(entries.length, 1, 'the export was audited once the lock was free');
  });
});

/**
 * A store on a fresh SQLite file whose writes wait `waitMs` for another process's lock: opened before
 * the suite's tests, closed and dropped after them.
 */
function storeWaitingForLock(waitMs: number): { file: () => string; store: () => Store } {
  let database: TestDatabase;
  let file: string;
  let store: Store;
  before(async () => {
    database = await sqliteBackend.create();
    if (database.config.kind !== 'sqlite') throw new Error('this test needs SQLite');
    file = database.config.file;
    store = await openSqliteStore(file, 'NORMAL', { writeLockWaitMs: waitMs, backgroundCheckpoints: false });
  });
  after(async () => {
    await store.close();
    await database.drop();
  });
  return { file: () => file, store: () => store };
}

describe('a write that waits longer than it may for the lock', () => {
  const locked = storeWaitingForLock(300);

  it('fails with SQLITE_BUSY after the wait, while timers keep running, and nothing of it is written', async () => {
    const store = locked.store();
    const lock = holdWriteLock(locked.file());
    let ticks = 0;
    const ticking = setInterval(() => ticks++, 10);
    try {
      await assert.rejects(store.settingOrCreate('locked-out', 'x', Date.now()), (error: Error & { code?: string }) => {
        assert.match(String(error.code), /^SQLITE_BUSY/);
        return true;
      });
    } finally {
      clearInterval(ticking);
      lock.release();
    }
    // Waiting on the event loop, as before, the timer could not tick at all; a loaded machine may run it late.
    assert.ok(ticks >= 3, `the event loop ran while the write waited (${ticks} ticks of 10 ms in 300 ms)`);
    assert.equal(await store.settingOrCreate('locked-out', 'y', Date.now()), 'y', 'the refused write left nothing');
  });
});

describe('last-use marks while another process holds the lock', () => {
  // Long enough that the requests below all come while the first mark still waits, on a loaded machine too.
  const locked = storeWaitingForLock(1_500);

  it("starts one write of a token's last use however many requests show the token while the lock is held, and warns once", async () => {
    const store = locked.store();
    const start = Date.now();
    const { token } = await createOrganization(store, { name: 'Marks', adminEmail: 'marks@example.test' }, start);
    const marks: Array<Promise<void>> = [];
    const counting = new Proxy(store, {
      get(target, property) {
        if (property === 'markTokenUsed') {
          return (tokenId: string, now: number) => {
            const mark = target.markTokenUsed(tokenId, now);
            marks.push(mark);
            return mark;
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    // Every mark settled, and what its failure set off (the warning comes on the next tick).
    const settled = async () => {
      await Promise.allSettled(marks);
      await new Promise((resolve) => setImmediate(resolve));
    };
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    const lock = holdWriteLock(locked.file());
    try {
      const later = start + 2 * MINUTE;
      for (let i = 0; i < 20; i++) assert.equal((await authenticate(counting, token, later + i)).ok, true);
      assert.equal(marks.length, 1, 'one mark waits for the lock, not one per request');
      await settled();
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0]!, /^CoachportUsageWarning: A token's last use was not recorded: /);
      // Once the first has given up, the next request tries again; its failure within the minute is not said again.
      assert.equal((await authenticate(counting, token, later + 100)).ok, true);
      assert.equal(marks.length, 2);
      await settled();
      assert.equal(warnings.length, 1, warnings.join('\n'));
    } finally {
      lock.release();
      process.off('warning', onWarning);
    }
    const marked = start + 3 * MINUTE;
    assert.equal((await authenticate(counting, token, marked)).ok, true);
    await eventually(
      async () => (await store.findToken(hashToken(token)))?.token.lastUsedAt,
      (lastUsedAt) => lastUsedAt === marked,
      'the mark once the lock is free',
    );
  });
});

describe('a server whose write waits longer than it may for the lock', () => {
  let server: TestServer;
  let admin: { orgId: string; userId: string; token: string };

  before(async () => {
    server = await startTestServer({ store: { writeLockWaitMs: 300 } });
    admin = await server.createOrg('Locked out');
  });
  after(() => server.close());

  it('answers 503 with Retry-After and a clear error, writes nothing, and takes the same write once the lock is free', async () => {
    const template = { name: 'Tried while locked' };
    const listed = async () =>
      ((await server.request('GET', '/api/v1/coaching-templates', { token: admin.token })).json as Array<{ name: string }>).map(
        (t) => t.name,
      );
    // The token's first use is marked now, not while the lock is held (a mark that fails warns).
    assert.deepEqual(await listed(), []);
    const lock = holdWriteLock(sqliteFileOf(server));
    let refused: Reply;
    try {
      refused = await server.request('POST', '/api/v1/coaching-templates', { token: admin.token, body: template });
    } finally {
      lock.release();
    }
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.deepEqual(refused.json, { error: 'The service is temporarily unavailable; try again shortly.' });
    assert.ok(!(await listed()).includes(template.name), 'the refused write left nothing');
    const taken = await server.request('POST', '/api/v1/coaching-templates', { token: admin.token, body: template });
    assert.ok(taken.status < 300, taken.text);
    assert.ok((await listed()).includes(template.name));
  });
});
