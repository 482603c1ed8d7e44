import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { AUDIT_ACTIONS } from '../src/audit/actions.js';
import { auditEntry } from '../src/audit/audit.js';
import { storeBackends } from './helpers/backends.js';
import { eventually } from './helpers/deadline.js';
import { asBrowser, inviteSecret, PASSWORD, sessionOf, signIn } from './helpers/browser.js';
import { session } from './helpers/fixtures.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const IP = '192.0.2.44';
const NOTE = 'NOTE-never-in-the-audit-log';
const DAY = 86_400_000;

for (const backend of await storeBackends()) {
  describe(`the audit log (${backend.name})`, () => {
    let server: TestServer;
    let admin: { orgId: string; userId: string; token: string };
    let templateId: string;
    /** Every secret the run handled: none may be in the audit table. */
    const secrets: string[] = [PASSWORD, NOTE];
    const call = (method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
      server.request(method, path, { ...options, headers: { 'x-forwarded-for': IP, ...options.headers } });

    async function entries(query = ''): Promise<Array<Record<string, any>>> {
      const all: Array<Record<string, any>> = [];
      let cursor: string | null = null;
      do {
        const reply = await call('GET', `/api/v1/audit-log?limit=3${query}${cursor ? `&cursor=${cursor}` : ''}`, { token: admin.token });
        assert.equal(reply.status, 200, reply.text);
        all.push(...reply.json.entries);
        cursor = reply.json.cursor;
      } while (cursor);
      return all;
    }

    before(async () => {
      server = await startTestServer({ backend, configure: (c) => ({ ...c, trustProxy: true }) });
      admin = await server.createOrg('Audited');
      secrets.push(admin.token);

      // Every audited action, through the API, from one address.
      const created = await call('POST', '/api/v1/users', {
        token: admin.token,
        body: { email: 'coach@audit.test', name: 'Cal Coach', role: 'coach' },
      });
      const secret = inviteSecret(created.json.inviteUrl);
      secrets.push(secret);
      const accepted = await call('POST', `/api/v1/auth/invites/${secret}`, { body: { password: PASSWORD } });
      const browser = sessionOf(accepted);
      secrets.push(browser.cookie.split('=')[1]!, browser.csrfToken);
      assert.equal((await signIn(server, 'coach@audit.test', 'wrong password here', { 'x-forwarded-for': IP })).status, 401);
      const again = sessionOf(await signIn(server, 'coach@audit.test', PASSWORD, { 'x-forwarded-for': IP }));
      secrets.push(again.cookie.split('=')[1]!);
      assert.equal((await asBrowser(server, again)('POST', '/api/v1/auth/sign-out', undefined, { 'x-forwarded-for': IP })).status, 204);
      const template = await asBrowser(server, browser)(
        'POST',
        '/api/v1/coaching-templates',
        { name: 'Audited template' },
        { 'x-forwarded-for': IP },
      );
      assert.equal(template.status, 201);
      const token = await call('POST', '/api/v1/tokens', { token: admin.token, body: { userId: created.json.id } });
      secrets.push(token.json.token);
      assert.equal((await call('DELETE', `/api/v1/tokens/${token.json.id}`, { token: admin.token })).status, 200);
      assert.equal(
        (await call('PATCH', `/api/v1/users/${created.json.id}`, { token: admin.token, body: { name: 'Cal Renamed', role: 'admin' } }))
          .status,
        200,
      );
      assert.equal((await call('PATCH', `/api/v1/users/${created.json.id}`, { token: admin.token, body: { active: false } })).status, 200);
      const agent = await server.addUser(admin.orgId, 'agent');
      secrets.push(agent.token);
      const made = await call('POST', '/api/v1/coaching/sessions', {
        token: admin.token,
        body: { coachingFormName: 'S', agentId: agent.userId, coachNotes: NOTE, agentNotes: NOTE },
      });
      assert.equal(made.status, 201);
      const docs = [
        session({ coachNotes: NOTE, agentNotes: NOTE, createdAt: '2024-03-01T08:00:00.000Z' }),
        session({ createdAt: '2024-03-01T09:00:00.000Z' }),
      ];
      assert.equal((await call('POST', '/api/v1/coaching-sessions/import', { token: admin.token, body: docs })).status, 200);
      templateId = template.json.id;
      const mapping = await call('PUT', '/api/v1/identity/role-mapping', { token: admin.token, body: { coach: ['Coaches'] } });
      assert.equal(mapping.status, 200, mapping.text);
      // A public address literal needs no DNS; the endpoint is gone before any change could be sent to it.
      const hook = await call('POST', '/api/v1/webhooks', {
        token: admin.token,
        body: { url: 'https://93.184.216.34/hooks', events: ['*'] },
      });
      assert.equal(hook.status, 201, hook.text);
      secrets.push(hook.json.secret);
      assert.equal(
        (await call('PATCH', `/api/v1/webhooks/${hook.json.id}`, { token: admin.token, body: { events: ['session.shared'] } })).status,
        200,
      );
      const rotated = await call('POST', `/api/v1/webhooks/${hook.json.id}/rotate-secret`, { token: admin.token });
      secrets.push(rotated.json.secret);
      assert.equal((await call('DELETE', `/api/v1/webhooks/${hook.json.id}`, { token: admin.token })).status, 204);
      const rename = { token: admin.token, body: { name: 'Audited, renamed' } };
      const renamed = await call('PATCH', `/api/v1/coaching-templates/${templateId}`, rename);
      assert.equal(renamed.status, 200, renamed.text);
      const missing = await call('PATCH', '/api/v1/coaching-templates/no-such-template', { token: admin.token, body: { name: 'x' } });
      assert.equal(missing.status, 404);
      const feed = await call('GET', '/api/v1/coaching-sessions/changes', { token: admin.token });
      assert.equal(feed.status, 200, feed.text);
      assert.equal(feed.json.sessions.length, 3);
      secrets.push(feed.json.cursor);
      server.clock.advance(DAY);
      const exported = await call('POST', '/api/v1/coaching-sessions', {
        token: admin.token,
        body: { startDate: '2024-03-01', endDate: '2024-03-01', timeAxis: 'createdAt' },
      });
      assert.equal(exported.status, 200);
      assert.equal(exported.json.length, 3);
      // An export's entry is written once its response has ended (export-audit.ts), not before it.
      const exportEntries = () =>
        server.store.readAudit(admin.orgId, { fromMs: null, toMs: null, action: 'export', after: null, limit: 1 });
      await eventually(exportEntries, (entries) => entries.length > 0, "the export's audit entry");
    });
    after(() => server.close());

    it('records every action with its actor, target and address, oldest first', async () => {
      const log = await entries();
      const byAction = (action: string) => log.filter((e) => e.action === action);
      for (const action of AUDIT_ACTIONS) assert.ok(byAction(action).length > 0, `an entry for ${action}`);
      const coachId = byAction('user_created')
        .find((e) => e.actorUserId === admin.userId)!
        .target.replace('user:', '');
      const checks: Array<[string, string | null, string | null]> = [
        ['user_created', admin.userId, `user:${coachId}`],
        ['invite_created', admin.userId, `user:${coachId}`],
        ['password_set', coachId, `user:${coachId}`],
        ['sign_in_failed', coachId, `user:${coachId}`],
        ['sign_out', coachId, `user:${coachId}`],
        ['template_created', coachId, null],
        ['token_created', admin.userId, null],
        ['token_revoked', admin.userId, null],
        ['user_updated', admin.userId, `user:${coachId}`],
        ['user_deactivated', admin.userId, `user:${coachId}`],
        ['import', admin.userId, null],
        ['export', admin.userId, null],
        ['template_updated', admin.userId, `template:${templateId}`],
        ['changes_read', admin.userId, null],
        ['identity_configured', admin.userId, null],
        ['webhook_created', admin.userId, null],
        ['webhook_updated', admin.userId, null],
        ['webhook_secret_rotated', admin.userId, null],
        ['webhook_deleted', admin.userId, null],
      ];
      for (const [action, actor, target] of checks) {
        const entry = byAction(action).at(-1)!;
        assert.equal(entry.actorUserId, actor, `${action} actor`);
        if (target) assert.equal(entry.target, target, `${action} target`);
        assert.equal(entry.ipAddress, IP, `${action} address`);
        assert.match(entry.timestamp, /^\d{4}-\d{2}-\d{2}T.*Z$/);
      }
      assert.equal(byAction('sign_in').length, 2);
      assert.deepEqual(byAction('user_updated').at(-1)!.details, { changed: ['name', 'role'], role: 'admin' });
      assert.deepEqual(byAction('import')[0]!.details, { sessions: 2, coachingPoints: 0, todos: 0, users: 2, templates: 1 });
      assert.equal(byAction('template_updated').length, 1, 'a rename of no template writes nothing');
      assert.deepEqual(byAction('template_updated')[0]!.details, { fields: ['name'] });
      assert.deepEqual(byAction('changes_read')[0]!.details, { count: 3 });
      const exported = byAction('export')[0]!;
      assert.equal(exported.details.sessions, 3);
      assert.equal(exported.details.completed, true);
      assert.equal(exported.details.startDate, '2024-03-01');
      assert.equal(exported.details.timeAxis, 'createdAt');
      assert.ok(exported.details.bytes > 1000);
      const times = log.map((e) => e.timestamp);
      assert.deepEqual(times, [...times].sort(), 'oldest first');
      assert.equal(new Set(log.map((e) => e.id)).size, log.length);
    });

    it("is offered by the console's audit page filter, action for action", () => {
      const page = fs.readFileSync(path.join(ROOT, 'web/src/pages/audit.tsx'), 'utf8');
      const imported = /^import \{ AUDIT_ACTIONS \} from '\.\.\/\.\.\/\.\.\/src\/audit\/actions\.js';$/m;
      assert.match(page, imported, 'the page imports the list the server records');
      assert.match(page, /\{AUDIT_ACTIONS\.map\(\(a\) => \(?\s*<option value=\{a\} key=\{a\}>/, 'and offers every action of it');
      assert.doesNotMatch(page, /const AUDIT_ACTIONS\b/, 'and keeps no list of its own');
    });

    it('never holds a password, token, link secret, cookie or note (the whole table scanned)', async () => {
      const dump = JSON.stringify(
        await server.store.readAudit(admin.orgId, { fromMs: null, toMs: null, action: null, after: null, limit: 100_000 }),
      );
      assert.ok(dump.length > 2000);
      for (const secret of secrets) assert.ok(!dump.includes(secret), `the audit table holds a secret (${secret.slice(0, 6)}…)`);
    });

    it('filters by action and by UTC day, pages by cursor, and is for admins only', async () => {
      const all = await entries();
      const signIns = await entries('&action=sign_in');
      assert.deepEqual(
        signIns,
        all.filter((e) => e.action === 'sign_in'),
      );
      const today = all.at(-1)!.timestamp.slice(0, 10);
      const lastDay = await entries(`&from=${today}&to=${today}`);
      assert.deepEqual(
        lastDay.map((e) => e.action),
        ['export'],
      );
      const before = await entries(`&to=${all[0]!.timestamp.slice(0, 10)}`);
      assert.equal(before.length, all.length - 1);
      const first = await call('GET', '/api/v1/audit-log?limit=2', { token: admin.token });
      assert.equal(first.json.hasMore, true);
      assert.deepEqual(Object.keys(first.json).sort(), ['cursor', 'entries', 'hasMore']);
      assert.deepEqual(Object.keys(first.json.entries[0]).sort(), [
        'action',
        'actorEmail',
        'actorUserId',
        'details',
        'id',
        'ipAddress',
        'target',
        'timestamp',
      ]);
      const coach = await server.addUser(admin.orgId, 'coach');
      assert.equal((await call('GET', '/api/v1/audit-log', { token: coach.token })).status, 403);
      assert.equal((await call('GET', '/api/v1/audit-log?action=nothing', { token: admin.token })).status, 400);
    });

    it('rolls the entry back with a change that fails', async () => {
      const count = async () => (await entries()).length;
      const before = await count();
      const duplicate = await call('POST', '/api/v1/users', {
        token: admin.token,
        body: { email: 'coach@audit.test', name: 'Twin', role: 'agent' },
      });
      assert.equal(duplicate.status, 409);
      await assert.rejects(
        server.store.accounts(admin.orgId, async (tx) => {
          await tx.audit(auditEntry(null, 'user_updated', 'user:x', {}, server.clock.now()));
          throw new Error('the change failed after its entry was written');
        }),
      );
      assert.equal(await count(), before);
    });

    it('records an export cut short as completed: false', async () => {
      const big = Array.from({ length: 1500 }, (_, i) =>
        session({
          createdAt: `2024-04-01T${String(Math.floor(i / 60) % 24).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00.000Z`,
          // 25 MB in all: more than the loopback's socket buffers take in before the client goes.
          coachNotes: 'x'.repeat(16_000),
        }),
      );
      assert.equal((await call('POST', '/api/v1/coaching-sessions/import', { token: admin.token, body: big })).status, 200);
      const controller = new AbortController();
      const response = await fetch(`${server.url}/api/v1/coaching-sessions`, {
        method: 'POST',
        headers: { apiToken: admin.token, 'content-type': 'application/json' },
        body: JSON.stringify({ startDate: '2024-04-01', endDate: '2024-04-01', timeAxis: 'createdAt' }),
        signal: controller.signal,
      });
      const reader = response.body!.getReader();
      await reader.read();
      controller.abort();
      let cut: Record<string, any> | undefined;
      for (let i = 0; i < 100 && !cut; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        cut = (await entries('&action=export')).find((e) => e.details.startDate === '2024-04-01');
      }
      assert.ok(cut, 'the cut export was audited');
      assert.equal(cut.details.completed, false);
      assert.ok(cut.details.sessions < 1500, `${cut.details.sessions} sessions counted`);
    });
  });
}
