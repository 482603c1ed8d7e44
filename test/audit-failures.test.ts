import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../src/store/schema.js';
import type { MigrationEngine as Dialect } from '../src/store/migrations/engine.js';
import { storeBackends } from './helpers/backends.js';
import { session } from './helpers/fixtures.js';
import { openKysely } from './helpers/kysely.js';
import { parsePrometheus } from './helpers/prometheus.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/** Makes the database itself refuse audit entries of one action, as a full disk or a lost privilege would. */
async function refuseAudit(db: Kysely<Database>, dialect: Dialect, action: string): Promise<void> {
  const name = `refuse_${action}`;
  if (dialect === 'sqlite') {
    const body = "begin select raise(abort, 'audit writes refused'); end";
    await sql.raw(`create trigger ${name} before insert on audit_log when new.action = '${action}' ${body}`).execute(db);
    return;
  }
  await sql
    .raw(
      `create function ${name}() returns trigger language plpgsql as $$
       begin if new.action = '${action}' then raise exception 'audit writes refused'; end if; return new; end $$;
       create trigger ${name} before insert on audit_log for each row execute function ${name}();`,
    )
    .execute(db);
}

async function auditFailures(server: TestServer, action: string): Promise<number> {
  const reply = await server.request('GET', '/metrics');
  const sample = parsePrometheus(reply.text).find((s) => s.name === 'coachport_audit_write_failures_total' && s.labels.action === action);
  return sample?.value ?? 0;
}

for (const backend of await storeBackends()) {
  describe(`an audit entry the database refuses (${backend.name})`, () => {
    let server: TestServer;
    let direct: { db: Kysely<Database>; dialect: Dialect };
    let admin: { orgId: string; userId: string; token: string };

    before(async () => {
      server = await startTestServer({ backend });
      admin = await server.createOrg('Refused');
      const docs = [session({ createdAt: '2024-05-01T08:00:00.000Z' }), session({ createdAt: '2024-05-01T09:00:00.000Z' })];
      assert.equal((await server.request('POST', '/api/v1/coaching-sessions/import', { token: admin.token, body: docs })).status, 200);
      direct = openKysely(server.config.database);
      for (const action of ['export', 'changes_read', 'template_updated']) await refuseAudit(direct.db, direct.dialect, action);
    });
    after(async () => {
      await direct.db.destroy();
      await server.close();
    });

    it('still sends the export, and logs and counts the entry it could not write', async () => {
      const before = await auditFailures(server, 'export');
      const exported = await server.exportSessions(admin.token, { startDate: '2024-05-01', endDate: '2024-05-01', timeAxis: 'createdAt' });
      assert.equal(exported.status, 200);
      assert.equal(exported.json.length, 2);
      let after = before;
      // The entry is written once the stream has ended, just after the response.
      for (let i = 0; i < 100 && after === before; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        after = await auditFailures(server, 'export');
      }
      assert.equal(after, before + 1);
      const line = server.logs
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.msg === 'audit entry could not be written' && l.auditAction === 'export');
      assert.ok(line, 'a log line names the action');
      assert.equal(line.level, 50, 'logged as an error');
      assert.match(String(line.reason), /audit writes refused/);
      const logged = server.logs.join('\n');
      assert.ok(!logged.includes(admin.token), 'the log holds no token');
      const written = await server.store.readAudit(admin.orgId, { fromMs: null, toMs: null, action: 'export', after: null, limit: 10 });
      assert.equal(written.length, 0);
    });

    it('answers a change-feed read and counts the entry it could not write', async () => {
      const before = await auditFailures(server, 'changes_read');
      const page = await server.request('GET', '/api/v1/coaching-sessions/changes', { token: admin.token });
      assert.equal(page.status, 200, page.text);
      assert.equal(page.json.sessions.length, 2);
      assert.equal(await auditFailures(server, 'changes_read'), before + 1);
      assert.ok(server.logs.some((l) => l.includes('"auditAction":"changes_read"') && !l.includes(page.json.cursor)));
    });

    it("leaves a template's name as it was when the rename's entry cannot be written (one transaction)", async () => {
      const made = await server.request('POST', '/api/v1/coaching-templates', { token: admin.token, body: { name: 'Before' } });
      assert.equal(made.status, 201, made.text);
      const rename = { token: admin.token, body: { name: 'After' } };
      const renamed = await server.request('PATCH', `/api/v1/coaching-templates/${made.json.id}`, rename);
      assert.equal(renamed.status, 500);
      assert.deepEqual(Object.keys(renamed.json), ['error']);
      const names = (await server.store.listTemplates(admin.orgId)).map((t) => t.name);
      assert.ok(names.includes('Before') && !names.includes('After'), names.join(', '));
    });
  });
}
