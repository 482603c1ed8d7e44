import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { createOrganization } from '../src/accounts/organizations.js';
import { exportWindow, type ExportWindow } from '../src/export/window.js';
import { generateSeed } from '../src/seed/generate.js';
import { openStore } from '../src/store/open.js';
import { backupSqlite } from '../src/store/sqlite/backup.js';
import type { Store } from '../src/store/store.js';
import { storedExport } from './helpers/documents.js';
import { tempDir } from './helpers/backends.js';
import { jsonLines, runCli, startServe, type ServeProcess } from './helpers/processes.js';

/** The issue asks for 100,000; BACKUP_TEST_SESSIONS makes it smaller while developing. */
const SEEDED = Number(process.env.BACKUP_TEST_SESSIONS ?? 100_000);
const SEED_END = Date.parse('2025-12-31T00:00:00.000Z');
/** The load writes one session a minute from here on, so its sessions sort in write order. */
const LOAD_START = Date.parse('2031-01-01T00:00:00.000Z');

function windowOf(startDate: string, endDate: string): ExportWindow {
  const result = exportWindow({ startDate, endDate, timeAxis: 'meetingDate' });
  if (!result.ok) throw new Error(result.error);
  return result.window;
}

async function exportElements(store: Store, orgId: string, window: ExportWindow): Promise<string[]> {
  return (JSON.parse(await storedExport(store, orgId, window)) as unknown[]).map((doc) => JSON.stringify(doc));
}

/** The stored export's bytes, hashed, and how many sessions it holds. */
async function exportDigest(store: Store, orgId: string, window: ExportWindow): Promise<{ count: number; sha256: string }> {
  const hash = createHash('sha256');
  let count = 0;
  for await (const chunk of store.exportDocuments(orgId, window)) {
    hash.update(chunk.data);
    count += chunk.sessions;
  }
  return { count, sha256: hash.digest('hex') };
}

describe('coachport backup', () => {
  const dir = tempDir('coachport-backup-');
  const servers: ServeProcess[] = [];
  after(async () => {
    for (const server of servers) await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const copiesWhileWriting =
    `copies a ${SEEDED.toLocaleString('en')}-session database while the server writes; ` +
    "the copy exports what the source held at the copy's moment";
  it(copiesWhileWriting, async () => {
    const source = path.join(dir, 'source.db');
    const copy = path.join(dir, 'copy.db');
    const store = await openStore({ kind: 'sqlite', file: source });
    const org = await createOrganization(store, { name: 'Backup Org', adminEmail: 'admin@backup.test' }, Date.now());
    const started = Date.now();
    await store.applyImport(org.orgId, generateSeed({ sessions: SEEDED, days: 360, seed: 7, endMs: SEED_END, nowMs: SEED_END }), SEED_END);
    await store.close();
    process.stdout.write(`# seeded ${SEEDED} sessions in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

    const server = await startServe({
      cwd: dir,
      env: { DATABASE_URL: source, RATE_LIMIT_API_PER_SECOND: '100000', RATE_LIMIT_API_PER_MINUTE: '1000000' },
    });
    servers.push(server);
    const call = (method: string, url: string, body?: unknown) =>
      fetch(server.url + url, {
        method,
        headers: { apiToken: org.token, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const agent = (await (
      await call('POST', '/api/v1/users', { email: 'agent@backup.test', name: 'Load Agent', role: 'agent' })
    ).json()) as { id: string };

    // A steady write load, one session after another, until told to stop.
    let written = 0;
    let stop = false;
    let failed: unknown = null;
    const load = (async () => {
      while (!stop) {
        const reply = await call('POST', '/api/v1/coaching/sessions', {
          coachingFormName: `Load ${written}`,
          agentId: agent.id,
          meetingDate: new Date(LOAD_START + written * 60_000).toISOString(),
          coachNotes: `written ${written}`,
        });
        assert.equal(reply.status, 201, await reply.text());
        written += 1;
      }
    })().catch((error: unknown) => {
      failed = error;
    });
    const waitForWrites = async (count: number) => {
      while (written < count && failed === null) await new Promise((resolve) => setTimeout(resolve, 10));
      if (failed !== null) throw failed;
    };
    await waitForWrites(20);
    const writtenBefore = written;
    const backup = await runCli(['--json', 'backup', copy], { cwd: dir, env: { DATABASE_URL: source } });
    const writtenAfter = written;
    await waitForWrites(writtenAfter + 20);
    stop = true;
    await load;
    if (failed !== null) throw failed;

    assert.equal(backup.code, 0, backup.stderr);
    const report = JSON.parse(backup.stdout) as { backup: { file: string; bytes: number; restarts: number; seconds: number } };
    assert.equal(report.backup.file, copy);
    // Under --json every line of stderr is one JSON object: here the progress, ending at 100%.
    const progress = jsonLines<{ progress: { percent: number; pages: number; totalPages: number } }>(backup.stderr);
    const last = progress.at(-1)!.progress;
    assert.equal(last.percent, 100);
    assert.ok(last.pages === last.totalPages && last.totalPages > 0, JSON.stringify(last));
    assert.ok(!fs.existsSync(`${copy}-wal`), 'the copy is one self-contained file');
    process.stdout.write(
      `# backup: ${(report.backup.bytes / 1_048_576).toFixed(0)} MB in ${report.backup.seconds} s, ` +
        `${report.backup.restarts} restart(s), ${writtenAfter - writtenBefore} writes during it\n`,
    );
    assert.ok(writtenAfter > writtenBefore, 'the server was writing while the copy was made');

    const live = await openStore({ kind: 'sqlite', file: source });
    const copied = await openStore({ kind: 'sqlite', file: copy });
    try {
      // The load's sessions: the copy holds exactly the first k the source holds, each whole.
      const loadWindow = windowOf('2031-01-01', '2031-03-01');
      const sourceLoad = await exportElements(live, org.orgId, loadWindow);
      const copyLoad = await exportElements(copied, org.orgId, loadWindow);
      assert.equal(sourceLoad.length, written);
      assert.ok(copyLoad.length >= writtenBefore && copyLoad.length <= writtenAfter, `${copyLoad.length} load sessions in the copy`);
      assert.deepEqual(copyLoad, sourceLoad.slice(0, copyLoad.length));
      for (const [i, element] of copyLoad.entries()) {
        const doc = JSON.parse(element) as { coachNotes: string; activityLog: unknown[] };
        assert.equal(doc.coachNotes, `written ${i}`);
        assert.equal(doc.activityLog.length, 1, 'the session and its log entry, written together, arrived together');
      }
      // The seeded data, which the load did not touch: the same export, byte for byte.
      for (const [from, to] of [
        ['2025-10-02', '2025-12-31'],
        ['2025-01-05', '2025-04-04'],
      ] as const) {
        const window = windowOf(from, to);
        const [a, b] = [await exportDigest(live, org.orgId, window), await exportDigest(copied, org.orgId, window)];
        assert.ok(a.count > SEEDED / 5, `${a.count} sessions in ${from}..${to}`);
        assert.deepEqual(b, a);
      }
    } finally {
      await live.close();
      await copied.close();
    }

    // Served from the copy, as a restore would: the same export over HTTP.
    const restored = await startServe({ cwd: dir, env: { DATABASE_URL: copy } });
    servers.push(restored);
    const reply = await fetch(`${restored.url}/api/v1/coaching-sessions`, {
      method: 'POST',
      headers: { apiToken: org.token, 'content-type': 'application/json' },
      body: JSON.stringify({ startDate: '2031-01-01', endDate: '2031-03-01', timeAxis: 'meetingDate' }),
    });
    assert.equal(reply.status, 200);
    const served = (await reply.json()) as Array<{ coachingFormName: string }>;
    assert.ok(served.length >= writtenBefore && served.length <= writtenAfter);
    assert.deepEqual(
      served.map((s) => s.coachingFormName),
      served.map((_s, i) => `Load ${i}`),
    );
  });

  it('says its progress on stderr in lines for a person, every tenth of the pages', async () => {
    const source = path.join(dir, 'small.db');
    const store = await openStore({ kind: 'sqlite', file: source });
    await createOrganization(store, { name: 'Small Org', adminEmail: 'admin@small.test' }, Date.now());
    await store.close();
    const result = await runCli(['backup', path.join(dir, 'small-copy.db')], { cwd: dir, env: { DATABASE_URL: source } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Backed up /);
    assert.match(result.stderr, /^(backup: \d+% \([\d,]+ of [\d,]+ pages\)\n)*backup: 100% \(([\d,]+) of \2 pages\)\n$/);
  });

  it('refuses on PostgreSQL and names pg_dump, writing nothing', async () => {
    const target = path.join(dir, 'never.db');
    const result = await runCli(['backup', target], { cwd: dir, env: { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/coachport' } });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /pg_dump/);
    assert.ok(!fs.existsSync(target));
  });

  it('names a missing source instead of creating an empty database', async () => {
    const result = await runCli(['backup', path.join(dir, 'x.db')], {
      cwd: dir,
      env: { DATABASE_URL: path.join(dir, 'absent', 'none.db') },
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /backup failed/);
    assert.ok(!fs.existsSync(path.join(dir, 'absent', 'none.db')));
  });

  it('checks the copy with quick_check and never replaces FILE with a copy that fails it', async () => {
    // A source whose table pages are damaged on disk: SQLite's backup copies the pages as they are, so only the
    // check can catch it. FILE holds an earlier good backup, which must survive byte for byte.
    const source = path.join(dir, 'damaged.db');
    const db = new BetterSqlite3(source);
    db.exec('create table notes(id integer primary key, body text); create index notes_body on notes(body)');
    const insert = db.prepare('insert into notes(body) values (?)');
    db.transaction(() => {
      for (let i = 0; i < 2_000; i++) insert.run(`note ${i} ${'x'.repeat(200)}`);
    })();
    db.pragma('journal_mode = DELETE');
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.close();
    const target = path.join(dir, 'kept.db');
    await backupSqlite(source, target);
    const good = fs.readFileSync(target);
    const bytes = fs.readFileSync(source);
    for (let page = 3; page * pageSize < bytes.length; page += 7) bytes.fill(0xa5, page * pageSize + 8, page * pageSize + 64);
    fs.writeFileSync(source, bytes);

    await assert.rejects(backupSqlite(source, target), /quick_check|malformed/);
    assert.ok(fs.readFileSync(target).equals(good), 'FILE still holds the earlier copy');
    assert.deepEqual(
      fs.readdirSync(dir).filter((name) => name.startsWith('kept.db.partial')),
      [],
      'no partial copy is left',
    );
  });
});
