import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { planWindows } from '../src/client/windows.js';
import type { DatabaseConfig } from '../src/config.js';
import type { ExportSession } from '../src/contract/schemas.js';
import { planImport } from '../src/importer/plan.js';
import { openStore } from '../src/store/open.js';
import { storeBackends, tempDir, type Backend, type TestDatabase } from './helpers/backends.js';
import { pollUntil } from './helpers/deadline.js';
import { startFaultServer, type SeenRequest } from './helpers/fault-server.js';
import { point, session, todo } from './helpers/fixtures.js';
import { BIN, jsonLines, runCli, startServe, type CliResult } from './helpers/processes.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/**
 * `coachport import --from-server` (SPEC §13): a second server's sessions come through the export
 * client into the local store in one transaction. Two real HTTP servers on loopback ports: the
 * remote one seeded over more than one 90-day window, and the local `coachport serve` whose export
 * must then equal the remote's byte for byte; servers that fail part way leave nothing imported.
 */
const FROM = '2024-01-01';
const TO = '2024-10-31';
const WINDOWS = planWindows(FROM, TO);
/** The first window holds more sessions than a batch (500), so a window spans batches. */
const FIRST_WINDOW_SESSIONS = 1_400;
const FAST = ['--per-second', '1000', '--per-minute', '100000'];
/** The local `coachport serve`'s export limits, so the comparison's calls are never paced. */
const SERVE_LIMITS = { RATE_LIMIT_EXPORT_PER_SECOND: '1000', RATE_LIMIT_EXPORT_PER_MINUTE: '100000' };

function day(offset: number, base = '2024-01-01T08:00:00.000Z'): string {
  return new Date(Date.parse(base) + offset * 86_400_000).toISOString();
}

/** Sessions over four windows: many in the first, points and to-dos linked across windows, text that JSON escapes. */
function seedSessions(): ExportSession[] {
  const sessions: ExportSession[] = [];
  for (let i = 0; i < FIRST_WINDOW_SESSIONS; i++) {
    const createdAt = day(i % 80, `2024-01-01T${String(8 + (i % 10)).padStart(2, '0')}:00:00.000Z`);
    sessions.push(session({ createdAt, updatedAt: createdAt, coachNotes: `notes ${i} — “quoted” \u2028 line 😀 "x" \\ y` }));
  }
  for (const offset of [100, 150, 200, 250, 290]) {
    sessions.push(session({ createdAt: day(offset), updatedAt: day(offset), meetingDate: null, isDeleted: offset === 150 }));
  }
  // A point and a to-do shared by a session of the first window and one of the last.
  const first = sessions[3]!;
  const last = sessions.at(-1)!;
  const shared = point([first._id, last._id], { createdAt: last.createdAt, updatedAt: last.createdAt });
  const task = todo([first._id, last._id], { createdAt: last.createdAt, updatedAt: last.createdAt });
  first.coachingPoints = [shared];
  last.coachingPoints = [shared];
  first.todos = [task];
  last.todos = [task];
  first.activityLog = [
    {
      userId: 'coach-1',
      userEmail: 'cora@example.test',
      actionType: 'created',
      descriptions: ['session created'],
      timestamp: first.createdAt,
      ipAddress: '10.0.0.1',
    },
  ];
  return sessions;
}

/** The export of one window as the server sends it, uncompressed. */
async function exportBody(url: string, token: string, window: { startDate: string; endDate: string }): Promise<Buffer> {
  const response = await fetch(`${url}/api/v1/coaching-sessions`, {
    method: 'POST',
    headers: { apiToken: token, 'content-type': 'application/json', 'accept-encoding': 'identity' },
    body: JSON.stringify({ ...window, timeAxis: 'createdAt' }),
  });
  assert.equal(response.status, 200);
  return Buffer.from(await response.arrayBuffer());
}

interface LocalSide {
  cwd: string;
  env: Record<string, string>;
  database: DatabaseConfig;
  orgId: string;
  token: string;
  drop(): Promise<void>;
}

/** A fresh local installation (its own directory and database) with one organization. */
async function localSide(backend: Backend): Promise<LocalSide> {
  const cwd = tempDir();
  const db: TestDatabase | null = backend.name === 'sqlite' ? null : await backend.create();
  const database: DatabaseConfig = db ? db.config : { kind: 'sqlite', file: path.join(cwd, 'data', 'coachport.db') };
  const env: Record<string, string> = { COACHPORT_TOKEN: '' };
  if (database.kind === 'postgres') env.DATABASE_URL = database.url;
  const created = await runCli(['org', 'create', '--name', 'Local', '--admin-email', 'admin@local.test', '--json'], { cwd, env });
  assert.equal(created.code, 0, created.stderr);
  const { orgId, token } = JSON.parse(created.stdout) as { orgId: string; token: string };
  return {
    cwd,
    env,
    database,
    orgId,
    token,
    async drop() {
      await db?.drop();
      fs.rmSync(cwd, { recursive: true, force: true });
    },
  };
}

/** What the local store holds: sessions and the audit entries of imports. */
async function localState(local: LocalSide) {
  const store = await openStore(local.database);
  try {
    let sessions = 0;
    for await (const chunk of store.exportDocuments(local.orgId, { axis: 'createdAt', fromMs: 0, toMs: 8.64e15 })) {
      sessions += chunk.sessions;
    }
    const audit = await store.readAudit(local.orgId, { fromMs: null, toMs: null, action: 'import', after: null, limit: 100 });
    return { sessions, audit };
  } finally {
    await store.close();
  }
}

/** The local side served by `coachport serve` while `work` runs. */
async function whileServed(local: LocalSide, work: (url: string) => Promise<void>): Promise<void> {
  const served = await startServe({ cwd: local.cwd, env: { ...local.env, ...SERVE_LIMITS } });
  try {
    await work(served.url);
  } finally {
    await served.stop();
  }
}

/** `coachport` as runCli runs it, each file it writes held to `limitBytes` (a write past it fails with EFBIG; Node ignores SIGXFSZ). */
function runLimited(args: string[], limitBytes: number, options: { cwd: string; env: Record<string, string> }): Promise<CliResult> {
  return new Promise((resolve) => {
    // POSIX sh counts `ulimit -f` in 512-byte blocks.
    const shell = ['-c', `ulimit -f ${limitBytes / 512} && exec "$0" "$@"`, process.execPath, BIN, ...args];
    execFile('/bin/sh', shell, { cwd: options.cwd, env: { ...process.env, ...options.env } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

function importArgs(url: string, token: string, extra: string[] = []): string[] {
  return ['import', '--from-server', url, '--token', token, '--from', FROM, '--to', TO, ...FAST, ...extra];
}

function assertNoToken(result: CliResult, token: string): void {
  assert.ok(!result.stdout.includes(token), 'the token is on stdout');
  assert.ok(!result.stderr.includes(token), 'the token is on stderr');
}

/** The remote's answer to an export call, as bytes, to pass on (whole or cut) from a fault server. */
async function remoteAnswer(remote: TestServer, request: SeenRequest): Promise<Buffer> {
  return exportBody(remote.url, String(request.headers.apitoken), request.body);
}

function sendBytes(res: http.ServerResponse, bytes: Buffer): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(bytes);
}

describe('coachport import --from-server', async () => {
  const backends = await storeBackends();
  let remote: TestServer;
  let remoteToken: string;

  before(async () => {
    remote = await startTestServer();
    const org = await remote.createOrg('Remote');
    remoteToken = org.token;
    const planned = planImport(seedSessions());
    assert.ok(planned.ok, planned.ok ? '' : planned.error);
    await remote.store.applyImport(org.orgId, planned.plan, remote.clock.now());
  });
  after(async () => {
    await remote.close();
  });

  /** Each of `windows` as the local server at `url` exports it: byte for byte the remote's export. */
  async function assertWindowsAsRemote(url: string, token: string, windows: typeof WINDOWS): Promise<void> {
    for (const window of windows) {
      const ours = await exportBody(url, token, window);
      assert.ok(ours.equals(await exportBody(remote.url, remoteToken, window)), `${window.startDate} differs`);
    }
  }

  for (const backend of backends) {
    describe(`into ${backend.name}`, () => {
      let local: LocalSide;
      before(async () => {
        local = await localSide(backend);
      });
      after(async () => {
        await local.drop();
      });

      it('imports every window; the local export then equals the remote one byte for byte', async () => {
        const result = await runCli(importArgs(remote.url, remoteToken, ['--json']), { cwd: local.cwd, env: local.env });
        assert.equal(result.code, 0, result.stderr);
        assertNoToken(result, remoteToken);
        const printed = JSON.parse(result.stdout) as { imported: { sessions: number; coachingPoints: number; todos: number } };
        assert.equal(printed.imported.sessions, FIRST_WINDOW_SESSIONS + 5);
        assert.equal(printed.imported.coachingPoints, 1);
        assert.equal(printed.imported.todos, 1);
        // Under --json, each window's progress is one JSON object on a line of stderr.
        const progress = jsonLines<{ progress: { window: number; windows: number; startDate: string } }>(result.stderr);
        assert.deepEqual(
          progress.map((p) => [p.progress.window, p.progress.windows, p.progress.startDate]),
          WINDOWS.map((w, i) => [i + 1, WINDOWS.length, w.startDate]),
        );

        const served = await startServe({ cwd: local.cwd, env: { ...local.env, ...SERVE_LIMITS } });
        try {
          for (const window of WINDOWS) {
            const theirs = await exportBody(remote.url, remoteToken, window);
            const ours = await exportBody(served.url, local.token, window);
            assert.ok(theirs.length > 2, `the window ${window.startDate}..${window.endDate} has sessions`);
            assert.ok(ours.equals(theirs), `the window ${window.startDate}..${window.endDate} differs`);
          }
        } finally {
          await served.stop();
        }

        const { audit } = await localState(local);
        assert.equal(audit.length, 1);
        assert.deepEqual(audit[0]!.details, { source: remote.url, from: FROM, to: TO, timeAxis: 'createdAt' });
        assert.ok(!JSON.stringify(audit).includes(remoteToken), 'the audit entry holds the token');
      });

      it('a window cut short is fetched again and its sessions are written once, whatever batches it had already given', async () => {
        const cutOnce = await startFaultServer(async (request, res, call) => {
          const bytes = await remoteAnswer(remote, request);
          // The first window's first answer stops after more than two batches (500 sessions each) went through.
          if (call === 1) {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.write(bytes.subarray(0, Math.floor(bytes.length * 0.9)));
            setTimeout(() => res.socket?.destroy(), 100);
            return;
          }
          sendBytes(res, bytes);
        });
        const again = await localSide(backend);
        try {
          const result = await runCli(importArgs(cutOnce.url, remoteToken, ['--json']), { cwd: again.cwd, env: again.env });
          assert.equal(result.code, 0, result.stderr);
          const retried = jsonLines<{ retry?: { startDate: string; endDate: string } }>(result.stderr).filter((line) => line.retry);
          assert.deepEqual(
            retried.map((line) => [line.retry!.startDate, line.retry!.endDate]),
            [['2024-01-01', '2024-03-30']],
          );
          assert.equal(cutOnce.seen.length, WINDOWS.length + 1);
          assert.equal(JSON.parse(result.stdout).imported.sessions, FIRST_WINDOW_SESSIONS + 5);
          await whileServed(again, (url) => assertWindowsAsRemote(url, again.token, WINDOWS));
        } finally {
          await cutOnce.close();
          await again.drop();
        }
      });

      it('a window cut short and sent again without a session it had: the session is not imported', async () => {
        // The source deleted a session between the two answers: the import holds what the answer
        // that came whole held, whatever the attempt given up had sent (a batch of it and more).
        let gone = '';
        let cut: Buffer = Buffer.alloc(0);
        const cutThenLess = await startFaultServer(async (request, res, call) => {
          const bytes = await remoteAnswer(remote, request);
          if (call === 1) {
            res.writeHead(200, { 'content-type': 'application/json' });
            cut = bytes.subarray(0, Math.floor(bytes.length * 0.9));
            res.write(cut);
            setTimeout(() => res.socket?.destroy(), 100);
            return;
          }
          if (call > 2) return sendBytes(res, bytes);
          const docs = JSON.parse(bytes.toString('utf8')) as ExportSession[];
          const at = docs.findIndex((doc, i) => i >= 10 && doc.coachingPoints.length === 0 && doc.todos.length === 0);
          gone = docs.splice(at, 1)[0]!._id;
          sendBytes(res, Buffer.from(JSON.stringify(docs)));
        });
        const again = await localSide(backend);
        try {
          const result = await runCli(importArgs(cutThenLess.url, remoteToken, ['--json']), { cwd: again.cwd, env: again.env });
          assert.equal(result.code, 0, result.stderr);
          assert.ok(cut.includes(`"_id":"${gone}"`), 'the attempt given up sent the session');
          assert.equal(JSON.parse(result.stdout).imported.sessions, FIRST_WINDOW_SESSIONS + 5 - 1);
          await whileServed(again, async (url) => {
            const [first, ...rest] = WINDOWS;
            const theirs = (JSON.parse((await exportBody(remote.url, remoteToken, first!)).toString()) as ExportSession[]).filter(
              (doc) => doc._id !== gone,
            );
            assert.deepEqual(JSON.parse((await exportBody(url, again.token, first!)).toString()), theirs);
            await assertWindowsAsRemote(url, again.token, rest);
          });
        } finally {
          await cutThenLess.close();
          await again.drop();
        }
      });

      it('a server that writes JSON its own way and answers 429 first (as the legacy service may): the same documents', async () => {
        let escaped = 0;
        const legacy = await startFaultServer(async (request, res, call) => {
          if (call === 1) {
            res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' });
            res.end(JSON.stringify({ error: 'Too many requests in the past second.' }));
            return;
          }
          const docs: unknown = JSON.parse((await remoteAnswer(remote, request)).toString('utf8'));
          // Indented, and every character beyond ASCII as a \u escape: the same values in other bytes.
          const text = JSON.stringify(docs, null, 2).replace(
            /[\u0080-\uffff]/g,
            (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
          );
          if (text.includes('\\u2028')) escaped++;
          sendBytes(res, Buffer.from(text));
        });
        const fresh = await localSide(backend);
        try {
          const result = await runCli(importArgs(legacy.url, remoteToken), { cwd: fresh.cwd, env: fresh.env });
          assert.equal(result.code, 0, result.stderr);
          assert.match(result.stderr, /retrying 2024-01-01\.\.2024-03-30 in 0 s: Too many requests in the past second\./);
          assert.equal(escaped, 1);
          assert.match(
            result.stdout,
            new RegExp(`^Imported ${FIRST_WINDOW_SESSIONS + 5} sessions, 1 coaching points and 1 to-dos from ${legacy.url}\\.`),
          );
          const served = await startServe({ cwd: fresh.cwd, env: { ...fresh.env, ...SERVE_LIMITS } });
          try {
            for (const window of WINDOWS) {
              const ours = await exportBody(served.url, fresh.token, window);
              assert.ok(ours.equals(await exportBody(remote.url, remoteToken, window)), `${window.startDate} differs`);
            }
          } finally {
            await served.stop();
          }
        } finally {
          await legacy.close();
          await fresh.drop();
        }
      });

      it('a refused token: a clear error, exit 3, nothing imported, the token never shown', async () => {
        const before = await localState(local);
        const wrong = 'cp_this-token-does-not-exist-anywhere-000000000';
        const result = await runCli(importArgs(remote.url, wrong), { cwd: local.cwd, env: local.env });
        assert.equal(result.code, 3, result.stderr);
        assert.match(result.stderr, /Nothing was imported from http:\/\/127\.0\.0\.1:\d+\. The API token was refused \(401\)/);
        assertNoToken(result, wrong);
        const state = await localState(local);
        assert.equal(state.sessions, before.sessions);
        assert.equal(state.audit.length, before.audit.length);
      });

      it('a server that keeps failing part way: nothing imported, not even the windows that arrived', async () => {
        const fresh = await localSide(backend);
        const broken = await startFaultServer(async (request, res) => {
          const bytes = await remoteAnswer(remote, request);
          if (request.body.startDate === WINDOWS[0]!.startDate) return sendBytes(res, bytes);
          // Every other window: a body cut in the middle of a document, then the connection closed.
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(bytes.subarray(0, Math.floor(bytes.length / 2)));
        });
        try {
          const result = await runCli(importArgs(broken.url, remoteToken), { cwd: fresh.cwd, env: fresh.env });
          assert.equal(result.code, 4, result.stderr);
          assert.match(result.stderr, /Nothing was imported from .* sent a malformed response: the response ended/);
          assert.ok(broken.seen.length >= 7, `the second window was retried (${broken.seen.length} calls)`);
          const state = await localState(fresh);
          assert.equal(state.sessions, 0);
          assert.equal(state.audit.length, 0);
        } finally {
          await broken.close();
          await fresh.drop();
        }
      });

      it('a bad document: nothing imported, the first one named by window and element, no retry', async () => {
        const fresh = await localSide(backend);
        const bad = await startFaultServer(async (request, res) => {
          const bytes = await remoteAnswer(remote, request);
          if (request.body.startDate !== WINDOWS[1]!.startDate) return sendBytes(res, bytes);
          const docs = JSON.parse(bytes.toString('utf8')) as Array<Record<string, unknown>>;
          delete docs[1]!.coachNotes;
          docs.push({ ...docs[0]!, _id: 'another' });
          delete docs.at(-1)!.agentName;
          sendBytes(res, Buffer.from(JSON.stringify(docs)));
        });
        try {
          const result = await runCli(importArgs(bad.url, remoteToken), { cwd: fresh.cwd, env: fresh.env });
          assert.equal(result.code, 1, result.stderr);
          const window = `${WINDOWS[1]!.startDate}..${WINDOWS[1]!.endDate}`;
          assert.match(
            result.stderr,
            new RegExp(`Nothing was imported\\. Element 1 of the window ${window.replace(/\./g, '\\.')}: .*coachNotes`),
          );
          assert.equal(bad.seen.filter((r) => r.body.startDate === WINDOWS[1]!.startDate).length, 1);
          assert.equal((await localState(fresh)).sessions, 0);
        } finally {
          await bad.close();
          await fresh.drop();
        }
      });

      /** The import, stopped by `signal` while the second window is half sent: its exit, its stderr, and what the database holds after. */
      async function interruptedMidWindow(signal: NodeJS.Signals) {
        const fresh = await localSide(backend);
        let hanging: http.ServerResponse | null = null;
        const slow = await startFaultServer(async (request, res) => {
          const bytes = await remoteAnswer(remote, request);
          if (request.body.startDate === WINDOWS[0]!.startDate) return sendBytes(res, bytes);
          // Half of the second window, then nothing until the importer dies.
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
          hanging = res;
        });
        try {
          const child = spawn(process.execPath, [BIN, ...importArgs(slow.url, remoteToken)], {
            cwd: fresh.cwd,
            env: { ...process.env, ...fresh.env },
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          let stderr = '';
          child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
          await pollUntil(() => hanging !== null && /window 1\/4/.test(stderr), 'the second window to be under way', 60_000);
          // Another command on the same database meanwhile: an import from a server, as long as its
          // windows take, keeps the WAL, so others can open the file and read.
          const beside = await runCli(['token', 'list'], { cwd: fresh.cwd, env: fresh.env });
          const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
          child.kill(signal);
          const code = await exited;
          return { code, stderr, beside, state: await localState(fresh) };
        } finally {
          await slow.close();
          await fresh.drop();
        }
      }

      it('killed (SIGKILL) while a window arrives: nothing imported', async () => {
        const { state } = await interruptedMidWindow('SIGKILL');
        assert.equal(state.sessions, 0);
        assert.equal(state.audit.length, 0);
      });

      it('interrupted (SIGINT) while a window arrives: exit 130, nothing imported; others could open the database meanwhile', async () => {
        const { code, stderr, beside, state } = await interruptedMidWindow('SIGINT');
        assert.equal(beside.code, 0, beside.stderr);
        assert.equal(code, 130);
        assert.match(stderr, /Interrupted: nothing was imported\./);
        assert.equal(state.sessions, 0);
        assert.equal(state.audit.length, 0);
      });
    });
  }

  describe('memory stays flat (SQLite)', () => {
    it('imports an export larger than the import child’s whole heap, document by document', async () => {
      const heapMb = 64;
      const count = 24_000;
      const template = JSON.stringify(session({ _id: '@ID@', createdAt: '2024-02-01T10:00:00.000Z', coachNotes: 'x'.repeat(3_000) }));
      let sent = 0;
      const big = await startFaultServer(async (_request, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        for (let i = 0; i < count; i++) {
          const text = `${i === 0 ? '[' : ','}${template.replace('@ID@', `big-${String(i).padStart(6, '0')}`)}`;
          sent += text.length;
          // The importer's pace, not this server's: a full socket waits for it to read.
          if (!res.write(text)) await new Promise((resolve) => res.once('drain', resolve));
        }
        res.end(']');
      });
      const fresh = await localSide(backends[0]!);
      try {
        const args = ['import', '--from-server', big.url, '--token', 'any', '--from', '2024-02-01', '--to', '2024-02-01', '--json'];
        const env = { ...fresh.env, NODE_OPTIONS: `--max-old-space-size=${heapMb}` };
        const result = await runCli(args, { cwd: fresh.cwd, env });
        assert.equal(result.code, 0, result.stderr);
        assert.ok(sent > heapMb * 1024 * 1024, `the export is ${sent} bytes`);
        assert.equal(JSON.parse(result.stdout).imported.sessions, count);
        assert.equal((await localState(fresh)).sessions, count);
      } finally {
        await big.close();
        await fresh.drop();
      }
    });
  });

  describe("this machine's temporary files (SQLite)", () => {
    it('a window the temporary files cannot hold: nothing imported, said so, the window not fetched again', async () => {
      // Every file the import writes is held to 4 MiB (RLIMIT_FSIZE): the local database stays under
      // it, and the window's batches pass it once they outgrow the spool's 8 MiB kept in memory.
      const limitBytes = 4 * 1024 * 1024;
      const count = 6_000;
      const template = JSON.stringify(session({ _id: '@ID@', createdAt: '2024-02-01T10:00:00.000Z', coachNotes: 'x'.repeat(3_000) }));
      const big = await startFaultServer(async (_request, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        for (let i = 0; i < count && !res.destroyed; i++) {
          const text = `${i === 0 ? '[' : ','}${template.replace('@ID@', `big-${String(i).padStart(6, '0')}`)}`;
          if (!res.write(text)) await new Promise((resolve) => res.once('drain', resolve));
        }
        res.end(']');
      });
      const fresh = await localSide(backends[0]!);
      const scratch = tempDir();
      try {
        const args = ['import', '--from-server', big.url, '--token', 'any', '--from', '2024-02-01', '--to', '2024-02-01', ...FAST];
        const result = await runLimited(args, limitBytes, { cwd: fresh.cwd, env: { ...fresh.env, SQLITE_TMPDIR: scratch } });
        assert.equal(result.code, 1, result.stderr);
        const said = /^coachport: Nothing was imported: the import's temporary files could not be written in (\S+) \((.+)\)\. (.*)\n$/.exec(
          result.stderr,
        );
        assert.ok(said, result.stderr);
        assert.equal(said[1], scratch);
        assert.equal(said[3], 'Make room there, or set SQLITE_TMPDIR to a folder with more.');
        // SQLite deletes its temporary files however the command ends.
        assert.deepEqual(fs.readdirSync(scratch), []);
        assert.equal(big.seen.length, 1, 'the window was fetched again');
        assert.equal((await localState(fresh)).sessions, 0);
      } finally {
        await big.close();
        await fresh.drop();
        fs.rmSync(scratch, { recursive: true, force: true });
      }
    });
  });

  describe('bad arguments: a clear message, exit 2, nothing contacted', () => {
    let cwd: string;
    before(() => {
      cwd = tempDir();
    });
    after(() => fs.rmSync(cwd, { recursive: true, force: true }));
    const env = { COACHPORT_TOKEN: '' };
    const cases: Array<[string, string[], RegExp]> = [
      [
        'no token',
        ['import', '--from-server', 'http://127.0.0.1:9', '--from', FROM, '--to', TO],
        /--from-server needs an API token of that server: pass --token or set COACHPORT_TOKEN/,
      ],
      [
        '--from after --to',
        ['import', '--from-server', 'http://127.0.0.1:9', '--token', 't', '--from', '2024-05-02', '--to', '2024-05-01'],
        /--to \(2024-05-01\) is before --from \(2024-05-02\)/,
      ],
      [
        'a day that is not one',
        ['import', '--from-server', 'http://127.0.0.1:9', '--token', 't', '--from', '2024-02-30', '--to', '2024-05-01'],
        /--from must be a calendar day in YYYY-MM-DD form, not "2024-02-30"/,
      ],
      ['no days', ['import', '--from-server', 'http://127.0.0.1:9', '--token', 't'], /needs the days to import: --from DAY and --to DAY/],
      [
        'a pace that is not one',
        ['import', '--from-server', 'http://127.0.0.1:9', '--token', 't', '--from', FROM, '--to', TO, '--per-minute', '1.5'],
        /--per-minute must be a positive whole number/,
      ],
      [
        'not an address',
        ['import', '--from-server', 'coaching.example.com', '--token', 't', '--from', FROM, '--to', TO],
        /--from-server must be the http:\/\/ or https:\/\/ address of a server/,
      ],
      [
        'not http',
        ['import', '--from-server', 'ftp://coaching.example.com', '--token', 't', '--from', FROM, '--to', TO],
        /--from-server must be an http:\/\/ or https:\/\/ address, not ftp:/,
      ],
      [
        'a password in the address',
        ['import', '--from-server', 'https://me:secret@coaching.example.com', '--token', 't', '--from', FROM, '--to', TO],
        /--from-server must not hold a user name or password: the API token goes in --token/,
      ],
      [
        'a file as well',
        ['import', 'x.ndjson', '--from-server', 'http://127.0.0.1:9', '--token', 't'],
        /Give a file or --from-server, not both/,
      ],
      ['server options without it', ['import', 'x.ndjson', '--token', 't'], /--token is for --from-server/],
      ['a pace without it', ['import', 'x.ndjson', '--per-second', '5'], /--per-second is for --from-server/],
      ['gzip without it', ['import', 'x.ndjson', '--no-gzip'], /--gzip \(or --no-gzip\) is for --from-server/],
      ['neither', ['import'], /Name a file to import, or a server with --from-server/],
    ];
    for (const [name, args, message] of cases) {
      it(name, async () => {
        const result = await runCli(args, { cwd, env });
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, message);
        assert.ok(!result.stderr.includes('secret'), 'a password in the address is echoed');
        assert.ok(!fs.existsSync(path.join(cwd, 'data')), 'no database was made');
      });
    }

    it('import --help explains --from-server', async () => {
      const result = await runCli(['import', '--help'], { cwd, env });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /--from-server <url>/);
      assert.match(result.stdout, /in ONE transaction/);
    });
  });
});
