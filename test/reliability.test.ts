import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import type { ExportSession } from '../src/contract/schemas.js';
import { postgresBackend, storeBackends, tempDir, type Backend, type TestDatabase } from './helpers/backends.js';
import { session } from './helpers/fixtures.js';
import { BIN, runCli, startServe } from './helpers/processes.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { eventually, pollUntil } from './helpers/deadline.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether another connection holds the SQLite file's write lock (a write transaction is open there). */
function holdsWriteLock(file: string): boolean {
  if (!fs.existsSync(file)) return false;
  const db = new BetterSqlite3(file, { timeout: 0 });
  try {
    db.exec('begin immediate');
    db.exec('rollback');
    return false;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'SQLITE_BUSY') return true;
    // The starting process is recovering the WAL a killed one left: not yet its transaction.
    if (code === 'SQLITE_BUSY_RECOVERY') return false;
    throw error;
  } finally {
    db.close();
  }
}
const WINDOW = { startDate: '2029-01-01', endDate: '2029-03-31', timeAxis: 'createdAt' };
const postgres = await postgresBackend();
if (postgres.unavailable && process.env.CI) throw new Error(`CI requires PostgreSQL: ${postgres.unavailable}`);

/** Sessions big enough that an export of them cannot fit in socket buffers. */
function bulky(count: number): ExportSession[] {
  const notes = 'x'.repeat(4000);
  return Array.from({ length: count }, (_, i) =>
    session({
      _id: `bulk-${String(i).padStart(6, '0')}`,
      createdAt: new Date(Date.UTC(2029, 0, 1) + i * 60_000).toISOString(),
      coachNotes: notes,
    }),
  );
}

async function openExport(url: string, token: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/api/v1/coaching-sessions`, {
    method: 'POST',
    headers: { apiToken: token, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(WINDOW),
  });
  assert.equal(response.status, 200);
  return response.body!.getReader();
}

async function readAll(reader: ReadableStreamDefaultReader<Uint8Array>, first: Uint8Array[] = []): Promise<string> {
  const chunks = [...first];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A test server's backend that is an existing database (reached at `url`), which it does not drop. */
function existingDatabase(url: string): Backend {
  return { name: 'postgres', unavailable: null, create: async () => ({ config: { kind: 'postgres', url }, drop: async () => undefined }) };
}

describe('PostgreSQL faults', { skip: postgres.unavailable ?? false }, () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let server: TestServer;
  let token: string;
  /** The database through the proxy, as the suite's servers reach it. */
  let proxied: URL;

  before(async () => {
    database = await postgres.create();
    proxied = new URL((database.config as { url: string }).url);
    proxy = new TcpProxy(proxied.hostname, Number(proxied.port || 5432));
    await proxy.start();
    proxied.host = `127.0.0.1:${proxy.port}`;
    server = await startTestServer({ backend: existingDatabase(proxied.toString()) });
    ({ token } = await server.createOrg());
    const reply = await server.request('POST', '/api/v1/coaching-sessions/import', { token, body: bulky(3000) });
    assert.equal(reply.status, 200, reply.text);
  });
  after(async () => {
    await server.close();
    await proxy.cut();
    await database.drop();
  });

  // The export streams one COPY, which PostgreSQL may send whole into the sockets' buffers before
  // the client reads much, so the database is cut after a part of the export has left it (a
  // megabyte of about twelve), not after the client's first read.
  it('cuts the connection when the database fails mid-export, never sending a valid-looking truncated array', async () => {
    const cut = proxy.cutAfter(1_000_000);
    const reader = await openExport(server.url, token);
    await assert.rejects(readAll(reader), 'the body ends in an error, not in "]"');
    await cut;
    await proxy.restore();
  });

  it('cuts a gzip-encoded export too when the database fails mid-stream', async () => {
    const cut = proxy.cutAfter(1_000_000);
    const reader = await openExport(server.url, token, { 'accept-encoding': 'gzip' });
    await assert.rejects(readAll(reader), 'the compressed body ends in an error, not in a complete stream');
    await cut;
    await proxy.restore();
  });

  it('answers 503 {"error"} while PostgreSQL is unreachable and recovers without a restart', async () => {
    await proxy.cut();
    const down = await server.exportSessions(token, WINDOW);
    assert.equal(down.status, 503, down.text);
    assert.deepEqual(Object.keys(down.json), ['error']);
    assert.equal(down.headers.get('retry-after'), '1');
    await proxy.restore();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await server.exportSessions(token, { ...WINDOW, endDate: '2029-01-01' })).status;
      if (status !== 200) await sleep(100);
    }
    assert.equal(status, 200);
  });

  // SPEC §2: rejected requests do not use up quota; a 503 is the server's failure, not the client's.
  // Today the token's check fails first, before a place is taken; were tokens ever checked without
  // the database, the 503's give-back (guard.ts) is what would keep this true.
  it('uses up none of a client’s export quota with a 503 while PostgreSQL is unreachable', async () => {
    const once = await startTestServer({
      backend: existingDatabase(proxied.toString()),
      configure: (config) => ({ ...config, limits: { ...config.limits, export: { perSecond: 1, perMinute: 1 } } }),
    });
    try {
      await proxy.cut();
      const down = await once.exportSessions(token, WINDOW);
      assert.equal(down.status, 503, down.text);
      await proxy.restore();
      await eventually(
        () => once.request('GET', '/readyz'),
        (reply) => reply.status === 200,
        'the database back',
      );
      // The clock stands still: the minute's one export is still there to take, and only once.
      const back = await once.exportSessions(token, { ...WINDOW, endDate: '2029-01-01' });
      assert.equal(back.status, 200, back.text);
      assert.equal((await once.exportSessions(token, { ...WINDOW, endDate: '2029-01-01' })).status, 429);
    } finally {
      await once.close();
    }
  });

  it('releases its connection and snapshot when 100 clients walk away mid-export', async () => {
    for (let i = 0; i < 100; i++) {
      const reader = await openExport(server.url, token);
      await reader.read();
      await reader.cancel();
    }
    const admin = new pg.Client({ connectionString: (database.config as { url: string }).url });
    await admin.connect();
    try {
      let busy = -1;
      for (let i = 0; i < 50 && busy !== 0; i++) {
        const { rows } = await admin.query<{ n: string }>(
          `select count(*) as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and state <> 'idle'`,
        );
        busy = Number(rows[0]!.n);
        if (busy !== 0) await sleep(100);
      }
      assert.equal(busy, 0, 'no connection is left inside a query or a transaction');
    } finally {
      await admin.end();
    }
    assert.equal((await server.exportSessions(token, { ...WINDOW, endDate: '2029-01-01' })).status, 200);
  });

  // A pooler may answer a cancel request at once and forward it later: the abandoned export cannot
  // know when its cancel lands, so a connection whose COPY ended before it did is not used again.
  it('never hands on the connection of an abandoned export whose cancel has not landed', async () => {
    const held = proxy.holdCancels();
    const url = new URL(proxied);
    url.searchParams.set('application_name', 'late-cancel');
    const late = await startTestServer({
      backend: existingDatabase(url.toString()),
      configure: (config) => ({ ...config, exportConcurrency: 1 }),
    });
    const admin = new pg.Client({ connectionString: (database.config as { url: string }).url });
    await admin.connect();
    const copying = async () =>
      (
        await admin.query<{ pid: number }>(
          `select pid from pg_stat_activity where application_name = 'late-cancel' and query like 'copy (select doc%'`,
        )
      ).rows.map((row) => row.pid);
    try {
      // An export whose COPY had ended when its client walked away (its 13 MB all in the sockets'
      // buffers, the client slowed by a loaded machine) rightly sends no cancel: walked away from again.
      let first: number | undefined;
      for (let attempt = 1; held() === 0; attempt++) {
        assert.ok(attempt <= 5, 'one of five abandoned exports sent its cancel');
        const abandoned = await openExport(late.url, token);
        await abandoned.read();
        [first] = await copying();
        await abandoned.cancel();
        await pollUntil(() => held() === 1, 'the abandoned export sends its cancel', 5_000).catch(() => undefined);
      }
      const next = await openExport(late.url, token);
      const firstChunk = (await next.read()).value!;
      let pids = await copying();
      for (let i = 0; i < 50 && pids.length !== 1; i++) {
        await sleep(100);
        pids = await copying();
      }
      assert.equal(pids.length, 1, 'one export connection is left');
      assert.notEqual(pids[0], first, 'the next export runs on another connection');
      await proxy.releaseCancels();
      const sessions = JSON.parse(await readAll(next, [firstChunk])) as ExportSession[];
      assert.equal(sessions.length, 3000, 'the late cancel did not cut the next export');
    } finally {
      await proxy.releaseCancels();
      await admin.end();
      await late.close();
    }
  });
});

for (const backend of await storeBackends()) {
  describe(`concurrency (${backend.name})`, () => {
    let server: TestServer;
    let admin: { orgId: string; token: string };
    before(async () => {
      server = await startTestServer({ backend });
      admin = await server.createOrg();
    });
    after(() => server.close());

    it('loses no activity-log entry when many clients change one session at once', async () => {
      const agent = await server.addUser(admin.orgId, 'agent');
      const created = await server.request('POST', '/api/v1/coaching/sessions', {
        token: admin.token,
        body: { coachingFormName: 'Busy', agentId: agent.userId, meetingFormat: 'f-start' },
      });
      const id = created.json._id as string;
      const replies = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          server.request('PATCH', `/api/v1/coaching/sessions/${id}`, { token: admin.token, body: { meetingFormat: `f-${i}` } }),
        ),
      );
      assert.ok(replies.every((r) => r.status === 200));
      const doc = (await server.request('GET', `/api/v1/coaching/sessions/${id}`, { token: admin.token })).json as ExportSession;
      const updates = doc.activityLog.filter((e) => e.actionType === 'updated');
      assert.equal(updates.length, 40);
      // Each change starts from the value the previous one left: none overwrote another unseen.
      let current = 'f-start';
      for (const entry of updates) {
        const [, from, to] = /meetingFormat changed from (\S+) to (\S+)/.exec(entry.descriptions[0]!)!;
        assert.equal(from, current);
        current = to!;
      }
      assert.equal(doc.meetingFormat, current);
      assert.equal(doc.updatedAt, updates.at(-1)!.timestamp);
    });

    it('relinks points across the same sessions from both sides at once without a deadlock', async () => {
      const agent = await server.addUser(admin.orgId, 'agent');
      const make = async (name: string) =>
        (
          await server.request('POST', '/api/v1/coaching/sessions', {
            token: admin.token,
            body: { coachingFormName: name, agentId: agent.userId },
          })
        ).json._id as string;
      for (let round = 0; round < 10; round++) {
        const [a, b] = [await make(`A${round}`), await make(`B${round}`)];
        const onA = (
          await server.request('POST', '/api/v1/coaching/points', {
            token: admin.token,
            body: { coachingFormIds: [a], type: 'strength', classification: 'qa' },
          })
        ).json._id;
        const onB = (
          await server.request('POST', '/api/v1/coaching/points', {
            token: admin.token,
            body: { coachingFormIds: [b], type: 'strength', classification: 'qa' },
          })
        ).json._id;
        const replies = await Promise.all([
          server.request('PATCH', `/api/v1/coaching/points/${onA}`, { token: admin.token, body: { coachingFormIds: [a, b] } }),
          server.request('PATCH', `/api/v1/coaching/points/${onB}`, { token: admin.token, body: { coachingFormIds: [b, a] } }),
        ]);
        assert.deepEqual(
          replies.map((r) => r.status),
          [200, 200],
          replies.map((r) => r.text).join(' '),
        );
        const docA = (await server.request('GET', `/api/v1/coaching/sessions/${a}`, { token: admin.token })).json as ExportSession;
        assert.deepEqual(docA.coachingPoints.map((p) => p._id).sort(), [onA, onB].sort());
        assert.equal(docA.activityLog.filter((e) => e.actionType === 'coaching_point_updated').length, 2);
      }
    });

    it('ends concurrent overlapping imports in one of the inputs, never a mix', async () => {
      const ids = Array.from({ length: 200 }, (_, i) => `race-${i}`);
      const version = (notes: string) =>
        ids.map((id, i) => session({ _id: id, createdAt: new Date(Date.UTC(2029, 5, 1) + i * 1000).toISOString(), coachNotes: notes }));
      const [a, b] = await Promise.all([
        server.request('POST', '/api/v1/coaching-sessions/import', { token: admin.token, body: version('A') }),
        server.request('POST', '/api/v1/coaching-sessions/import', { token: admin.token, body: version('B') }),
      ]);
      assert.equal(a.status, 200, a.text);
      assert.equal(b.status, 200, b.text);
      const exported = await server.exportSessions(admin.token, { startDate: '2029-06-01', endDate: '2029-06-01', timeAxis: 'createdAt' });
      const notes = new Set((exported.json as ExportSession[]).map((s) => s.coachNotes));
      assert.equal((exported.json as ExportSession[]).length, 200);
      assert.equal(notes.size, 1, `one input wins whole, got ${[...notes].join(', ')}`);
    });
  });
}

describe('process faults (SQLite, real processes)', () => {
  let cwd: string;
  let token: string;
  before(async () => {
    cwd = tempDir();
    const created = await runCli(['org', 'create', '--name', 'Faults', '--admin-email', 'f@faults.test', '--json'], { cwd });
    assert.equal(created.code, 0, created.stderr);
    token = JSON.parse(created.stdout).token;
    fs.writeFileSync(
      path.join(cwd, 'bulky.ndjson'),
      bulky(3000)
        .map((s) => JSON.stringify(s))
        .join('\n'),
    );
    const imported = await runCli(['import', 'bulky.ndjson'], { cwd });
    assert.equal(imported.code, 0, imported.stderr);
  });
  after(() => fs.rmSync(cwd, { recursive: true, force: true }));

  it('lets an export in flight finish on SIGTERM, then exits', async () => {
    const server = await startServe({ cwd });
    const reader = await openExport(server.url, token);
    const first = await reader.read();
    const exited = server.stop('SIGTERM');
    await sleep(200);
    const body = await readAll(reader, [first.value!]);
    const docs = JSON.parse(body) as ExportSession[];
    assert.equal(docs.length, 3000);
    assert.equal(await exited, 0);
  });

  it('keeps an acknowledged write through kill -9', async () => {
    const server = await startServe({ cwd });
    const agent = await fetch(`${server.url}/api/v1/users`, {
      method: 'POST',
      headers: { apiToken: token, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'kill9@faults.test', name: 'Survivor', role: 'agent' }),
    });
    assert.equal(agent.status, 201);
    const agentId = ((await agent.json()) as { id: string }).id;
    const created = await fetch(`${server.url}/api/v1/coaching/sessions`, {
      method: 'POST',
      headers: { apiToken: token, 'content-type': 'application/json' },
      body: JSON.stringify({ coachingFormName: 'Durable', agentId }),
    });
    assert.equal(created.status, 201);
    const id = ((await created.json()) as { _id: string })._id;
    await server.stop('SIGKILL');
    const again = await startServe({ cwd });
    try {
      const read = await fetch(`${again.url}/api/v1/coaching/sessions/${id}`, { headers: { apiToken: token } });
      assert.equal(read.status, 200);
    } finally {
      await again.stop();
    }
  });

  it('leaves all of an import or none of it after kill -9, killed while its transaction writes', async () => {
    // Each round imports sessions of its own day, so a round that committed cannot hide a later one that left half.
    let killedMidImport = 0;
    for (const [round, extraMs] of [
      [0, 0],
      [1, 150],
      [2, 500],
    ] as const) {
      const day = `2030-01-0${round + 1}`;
      const docs = Array.from({ length: 20_000 }, (_, i) =>
        session({ _id: `all-or-none-${round}-${i}`, createdAt: new Date(Date.parse(`${day}T00:00:00.000Z`) + i * 1000).toISOString() }),
      );
      fs.writeFileSync(path.join(cwd, 'big.ndjson'), docs.map((s) => JSON.stringify(s)).join('\n'));
      const child = spawn(process.execPath, [BIN, 'import', 'big.ndjson'], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      // The import holds SQLite's write lock from its first write to its commit: killing it then lands mid-transaction.
      await pollUntil(
        () => child.exitCode !== null || holdsWriteLock(path.join(cwd, 'data', 'coachport.db')),
        'the import to start writing',
        60_000,
        5,
      );
      await sleep(extraMs);
      child.kill('SIGKILL');
      await exited;
      const killed = child.signalCode === 'SIGKILL';
      if (killed) killedMidImport++;
      // Not killed, it finished: an import that failed on its own is this test's failure, said with its reason.
      else assert.equal(child.exitCode, 0, `round ${round}: the import exited ${child.exitCode} before the kill: ${stderr}`);
      const server = await startServe({ cwd, env: { RATE_LIMIT_EXPORT_PER_SECOND: '1000' } });
      try {
        const body = JSON.stringify({ startDate: day, endDate: day, timeAxis: 'createdAt' });
        const reply = await fetch(`${server.url}/api/v1/coaching-sessions`, {
          method: 'POST',
          headers: { apiToken: token, 'content-type': 'application/json' },
          body,
        });
        const text = await reply.text();
        assert.equal(reply.status, 200, `round ${round}: the export answered ${reply.status}: ${text}`);
        const count = (JSON.parse(text) as unknown[]).length;
        assert.equal(count, killed ? 0 : 20_000, `round ${round} (${killed ? 'killed mid-import' : 'finished first'}): ${count} sessions`);
      } finally {
        await server.stop();
      }
    }
    assert.ok(killedMidImport >= 1, 'at least one kill landed while the import was writing');
  });
});
