import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { TABLE_NAMES } from '../src/client/tables.js';
import type { ExportSession } from '../src/contract/schemas.js';
import { generateSeed } from '../src/seed/generate.js';
import { Mirror } from '../src/sync/mirror.js';
import { fallbackRanges, syncOnce, type SyncOptions } from '../src/sync/sync.js';
import { json, startFaultServer } from './helpers/fault-server.js';
import { point, session, todo } from './helpers/fixtures.js';
import { csvTablesOf, exportedTables, mirrorTargets, mirroredTables, sqliteTarget, type Target } from './helpers/mirror.js';
import { BIN, jsonLines, runCli } from './helpers/processes.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/backends.js';
import { ManualClock, VirtualClock } from './helpers/clock.js';
import { within } from './helpers/deadline.js';

/** What a §1 server answers for a window: sessions whose axis date is in it, in contract order. */
function inWindow(docs: ExportSession[], body: { startDate: string; endDate: string; timeAxis: string }): ExportSession[] {
  const start = Date.parse(`${body.startDate}T00:00:00.000Z`);
  const end = Date.parse(`${body.endDate}T23:59:59.999Z`);
  const axis = body.timeAxis as 'createdAt' | 'meetingDate';
  return docs
    .filter((s) => s[axis] !== null && Date.parse(s[axis]!) >= start && Date.parse(s[axis]!) <= end)
    .sort((a, b) => Date.parse(a[axis]!) - Date.parse(b[axis]!) || (a._id < b._id ? -1 : 1));
}

const assertTablesEqual = async (mirror: Mirror, expected: Awaited<ReturnType<typeof csvTablesOf>>) => {
  const mirrored = await mirroredTables(mirror);
  for (const table of TABLE_NAMES) assert.deepEqual(mirrored[table], expected[table], `table ${table}`);
};

describe('coachport sync against a server that only speaks the export contract', () => {
  it('re-exports from the lookback before the last completed day, so a long pause is covered', () => {
    assert.deepEqual(fallbackRanges({}, '2023-01-01', '2024-03-01', 30), [
      { timeAxis: 'meetingDate', from: '2023-01-01', to: '2024-03-31' },
      { timeAxis: 'createdAt', from: '2023-01-01', to: '2024-03-01' },
    ]);
    const state = { 'fallback.meetingDate.through': '2024-02-29', 'fallback.createdAt.through': '2024-01-10' };
    assert.deepEqual(fallbackRanges(state, '2023-01-01', '2024-03-01', 30), [
      { timeAxis: 'meetingDate', from: '2024-01-31', to: '2024-03-31' },
      { timeAxis: 'createdAt', from: '2023-12-12', to: '2024-03-01' },
    ]);
    assert.deepEqual(
      fallbackRanges(state, '2024-02-01', '2024-03-01', 30)[1],
      { timeAxis: 'createdAt', from: '2024-02-01', to: '2024-03-01' },
      'never before --from',
    );
  });

  it('falls back to windowed export through 404s, 429s and 500s, and converges after changes', async () => {
    const docs: ExportSession[] = [];
    for (let day = 1; day <= 60; day += 3) {
      const at = new Date(Date.UTC(2024, 0, day, 9)).toISOString();
      docs.push(
        session({ createdAt: at, updatedAt: at, meetingDate: day % 2 ? new Date(Date.UTC(2024, 0, day + 2)).toISOString() : null }),
      );
    }
    const shared = point([docs[1]!._id, docs[15]!._id], { subject: 'shared, "quoted"' });
    docs[1]!.coachingPoints = [shared];
    docs[15]!.coachingPoints = [shared];
    docs[2]!.todos = [todo([docs[2]!._id])];
    docs[3]!.activityLog = [
      {
        userId: 'coach-1',
        userEmail: 'c@x.test',
        actionType: 'created',
        descriptions: ['a', 'b'],
        timestamp: docs[3]!.createdAt,
        ipAddress: null,
      },
    ];

    const server = await startFaultServer((request, res, call) => {
      if (request.method === 'GET') return json(res, 404, { error: 'Not found.' });
      if (call % 4 === 0) return json(res, 503, { error: 'Busy.' });
      if (call % 7 === 0) return json(res, 429, { error: 'Too many requests in the past second.' }, { 'retry-after': '1' });
      return json(res, 200, inWindow(docs, request.body));
    });
    const target = await sqliteTarget();
    const mirror = await Mirror.open(target.url);
    const clock = new VirtualClock(Date.parse('2024-03-10T08:00:00.000Z'));
    const options: SyncOptions = {
      url: server.url,
      token: 'cp_fault',
      from: '2024-01-01',
      lookbackDays: 30,
      client: { clock, retry: { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 100 } },
    };
    try {
      const first = await syncOnce(mirror, options);
      assert.equal(first.mode, 'fallback');
      assert.equal(first.cursor, null);
      await assertTablesEqual(mirror, await csvTablesOf(docs));
      assert.ok(
        server.seen.some((r) => r.method === 'GET' && r.url.startsWith('/api/v1/coaching-sessions/changes')),
        'asked for the feed first',
      );

      // Changes on both axes inside the lookback (today is 2024-03-10): an edit, a deletion, a point
      // unlinked from a session, a to-do completed.
      const recent = docs.filter((s) => Date.parse(s.createdAt) >= Date.parse('2024-02-10'));
      recent[0]!.coachNotes = 'edited later';
      recent[2]!.isDeleted = true;
      const moved = { ...shared, coachingFormIds: [docs[15]!._id], updatedAt: '2024-03-09T00:00:00.000Z' };
      docs[1]!.coachingPoints = [];
      docs[15]!.coachingPoints = [moved];
      docs[15]!.updatedAt = '2024-03-09T00:00:00.000Z';
      const second = await syncOnce(mirror, { ...options, from: undefined });
      assert.equal(second.written, 2 + 1, 'the edited, the deleted and the session that holds the moved point');
      // docs[1] is older than the lookback: its stale row is what the fallback cannot see, except
      // that the point's own links were replaced from docs[15].
      const expected = await csvTablesOf(docs);
      await assertTablesEqual(mirror, expected);

      // The same day again with nothing changed: the windows are fetched, nothing is written.
      const before = await target.fingerprint();
      const third = await syncOnce(mirror, { ...options, from: undefined });
      assert.ok(third.sessions > 0);
      assert.equal(third.written, 0);
      assert.equal(await target.fingerprint(), before);
    } finally {
      await mirror.close();
      await server.close();
      await target.drop();
    }
  });
});

for (const kind of await mirrorTargets()) {
  describe(`coachport sync killed mid-run into a ${kind.name}`, () => {
    let server: TestServer;
    let admin: { orgId: string; token: string };
    let target: Target;
    const cwd = tempDir();

    before(async () => {
      target = await kind.make();
      server = await startTestServer();
      admin = await server.createOrg();
      const now = server.clock.now();
      await server.store.applyImport(admin.orgId, generateSeed({ sessions: 3000, days: 120, seed: 3, endMs: now, nowMs: now }), now);
    });
    after(async () => {
      await server?.close();
      await target?.drop();
    });

    const args = () => [
      'sync',
      '--url',
      server.url,
      '--to',
      target.url,
      '--from',
      '2023-09-01',
      '--per-second',
      '10000',
      '--per-minute',
      '1000000',
      '--feed-per-second',
      '10000',
      '--feed-per-minute',
      '1000000',
    ];

    it('loses nothing and doubles nothing when run again after SIGKILL', async () => {
      let kills = 0;
      for (const delayMs of [0, 15, 40, 80]) {
        const child = spawn(process.execPath, [BIN, ...args()], {
          cwd,
          env: { ...process.env, COACHPORT_TOKEN: admin.token },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stderr = '';
        let killed = false;
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          // Killed while a window with sessions in it is being applied, or the next one fetched.
          if (!killed && /: [1-9]\d* sessions/.test(stderr)) {
            killed = true;
            setTimeout(() => child.kill('SIGKILL'), delayMs);
          }
        });
        const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
        assert.ok(killed || code === 0, `the sync ran: ${stderr}`);
        if (code === null) kills++;
      }
      assert.ok(kills > 0, 'at least one run was killed before it finished');
      const finished = await runCli(['--json', ...args()], { cwd, env: { COACHPORT_TOKEN: admin.token } });
      assert.equal(finished.code, 0, finished.stderr);
      const mirror = await Mirror.open(target.url);
      try {
        const [mirrored, exported] = await Promise.all([mirroredTables(mirror), exportedTables(server.url, admin.token)]);
        for (const table of TABLE_NAMES) assert.deepEqual(mirrored[table], exported[table], `table ${table}`);
        assert.equal(mirrored.sessions.length, 3000);
      } finally {
        await mirror.close();
      }
      const again = await runCli(['--json', ...args()], { cwd, env: { COACHPORT_TOKEN: admin.token } });
      assert.equal(again.code, 0, again.stderr);
      const summary = JSON.parse(again.stdout.trim());
      assert.deepEqual(Object.keys(summary).slice(0, 3), ['sessions', 'pages', 'cursor']);
      assert.equal(summary.written, 0, 'a run with no changes writes nothing');
    });

    it('asks for --from when the server has no feed and the mirror is new, and refuses a bad token', async () => {
      const fresh = `${tempDir()}/fresh.db`;
      const exportOnly = await startFaultServer((_request, res) => json(res, 404, { error: 'Not found.' }));
      try {
        const noFrom = await runCli(['sync', '--url', exportOnly.url, '--to', fresh, '--token', admin.token], { cwd });
        assert.equal(noFrom.code, 2);
        assert.match(noFrom.stderr, /pass --from YYYY-MM-DD/);
      } finally {
        await exportOnly.close();
      }
      const badToken = await runCli(['sync', '--url', server.url, '--to', fresh, '--token', 'cp_nope', '--from', '2024-01-01'], { cwd });
      assert.equal(badToken.code, 3);
      assert.match(badToken.stderr, /401/);
    });
  });
}

describe('coachport sync --watch', () => {
  it('picks up a change on its next round and stops cleanly on SIGTERM', async () => {
    const server = await startTestServer({ clock: new ManualClock(Date.now()) });
    const target = await sqliteTarget();
    try {
      const admin = await server.createOrg();
      const agent = await server.addUser(admin.orgId, 'agent');
      const args = [
        '--json',
        'sync',
        '--watch',
        '1',
        '--url',
        server.url,
        '--to',
        target.url,
        '--from',
        '2024-01-01',
        '--per-second',
        '1000',
        '--per-minute',
        '100000',
      ];
      const child = spawn(process.execPath, [BIN, ...args], {
        env: { ...process.env, COACHPORT_TOKEN: admin.token },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const summaries: Array<{ written: number }> = [];
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const waiters: Array<() => void> = [];
      let buffered = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) summaries.push(JSON.parse(line));
        for (const wake of waiters.splice(0)) wake();
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const summaryCount = async (n: number) => {
        while (summaries.length < n) {
          await Promise.race([
            new Promise<void>((resolve) => waiters.push(resolve)),
            exited.then(() => assert.fail(`sync exited: ${stderr}`)),
          ]);
        }
      };
      await within(summaryCount(1), 'the first watch round', 30_000);
      const created = await server.request('POST', '/api/v1/coaching/sessions', {
        token: admin.token,
        body: { coachingFormName: 'Watched', agentId: agent.userId },
      });
      assert.equal(created.status, 201, created.text);
      let seen = summaries.length;
      await within(
        (async () => {
          for (;;) {
            await summaryCount(seen + 1);
            seen = summaries.length;
            if (summaries.at(-1)!.written === 1) return;
          }
        })(),
        'a watch round that writes the new session',
        30_000,
      );
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      // Under --json each page's progress is one JSON object on stderr, as from the change feed.
      const pages = jsonLines<{ progress?: { mode: string } }>(stderr).filter((line) => line.progress);
      assert.ok(pages.length >= 1 && pages.every((line) => line.progress!.mode === 'feed'), stderr);
      const mirror = await Mirror.open(target.url);
      try {
        assert.ok((await mirror.rows('sessions')).some((row) => row._id === created.json._id));
      } finally {
        await mirror.close();
      }
    } finally {
      await server.close();
      await target.drop();
    }
  });

  it('outlasts a server that fails for longer than the retries of one run: the next run goes on', async () => {
    const server = await startTestServer();
    const target = await sqliteTarget();
    // The first six requests (every attempt of the first run) fail; then the real server answers.
    const flaky = await startFaultServer(async (request, res, call) => {
      if (call <= 6) return json(res, 500, { error: 'Restarting.' });
      const upstream = await fetch(`${server.url}${request.url}`, { headers: { apiToken: String(request.headers.apitoken) } });
      res.writeHead(upstream.status, { 'content-type': 'application/json' });
      res.end(await upstream.text());
    });
    try {
      const admin = await server.createOrg();
      const agent = await server.addUser(admin.orgId, 'agent');
      const made = await server.request('POST', '/api/v1/coaching/sessions', {
        token: admin.token,
        body: { coachingFormName: 'Outlasted', agentId: agent.userId },
      });
      assert.equal(made.status, 201, made.text);
      const args = ['--json', 'sync', '--watch', '1', '--url', flaky.url, '--to', target.url, '--from', '2024-01-01'];
      const child = spawn(process.execPath, [BIN, ...args, '--per-second', '1000', '--per-minute', '100000'], {
        env: { ...process.env, COACHPORT_TOKEN: admin.token },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let [stdout, stderr] = ['', ''];
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      await within(
        (async () => {
          while (!stdout.includes('"written":1')) {
            if (child.exitCode !== null) assert.fail(`sync exited ${child.exitCode}: ${stderr}`);
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        })(),
        'a run after the failed one that writes the session',
        60_000,
      );
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      const warnings = jsonLines<{ warning?: string }>(stderr).filter((line) => line.warning);
      assert.equal(warnings.length, 1, stderr);
      assert.match(warnings[0]!.warning!, /^sync 1 failed: .*500.* Trying again in 1 s\.$/);
    } finally {
      await flaky.close();
      await server.close();
      await target.drop();
    }
  });
});
