import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from './helpers/backends.js';
import { session } from './helpers/fixtures.js';
import { BIN, jsonLines, runCli, startServe, type ServeProcess } from './helpers/processes.js';

const WINDOW = { startDate: '2024-01-01', endDate: '2024-03-01', timeAxis: 'createdAt' };

// The CLI test is not about limits: the server admits many exports a second.
const ENV = { RATE_LIMIT_EXPORT_PER_SECOND: '1000', RATE_LIMIT_EXPORT_PER_MINUTE: '100000' };

async function exportWith(url: string, token: string) {
  const response = await fetch(`${url}/api/v1/coaching-sessions`, {
    method: 'POST',
    headers: { apiToken: token, 'content-type': 'application/json' },
    body: JSON.stringify(WINDOW),
  });
  return { status: response.status, json: (await response.json()) as Array<{ _id: string }> };
}

// Each test stands alone: the organization every test uses is made before them, and the tests that add
// organizations, sessions or tokens assert only what they added.
describe('the coachport command line beside a running server', () => {
  let cwd: string;
  let server: ServeProcess;
  let admin: { orgId: string; userId: string; token: string };
  let created: Awaited<ReturnType<typeof runCli>>;

  before(async () => {
    cwd = tempDir();
    server = await startServe({ cwd, env: ENV });
    created = await runCli(['org', 'create', '--name', 'Acme', '--admin-email', 'a@acme.test', '--json'], { cwd });
    assert.equal(created.code, 0, created.stderr);
    admin = JSON.parse(created.stdout);
  });
  after(async () => {
    await server.stop();
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('org create prints {orgId, userId, token} whose token exports from the running server', async () => {
    assert.deepEqual(Object.keys(admin).sort(), ['inviteUrl', 'orgId', 'token', 'userId']);
    assert.match((admin as unknown as { inviteUrl: string }).inviteUrl, /^https?:\/\/[^/]+\/invite\/[A-Za-z0-9_-]{43}$/);
    assert.ok(fs.existsSync(path.join(cwd, 'data', 'coachport.db')));
    const exported = await exportWith(server.url, admin.token);
    assert.equal(exported.status, 200);
    assert.ok(Array.isArray(exported.json));
  });

  it('import reads NDJSON and JSON arrays into the store the server reads', async () => {
    const a = session({ createdAt: '2024-01-05T00:00:00.000Z' });
    const b = session({ createdAt: '2024-01-06T00:00:00.000Z' });
    const c = session({ createdAt: '2024-01-07T00:00:00.000Z' });
    const before = (await exportWith(server.url, admin.token)).json.map((s) => s._id);
    fs.writeFileSync(path.join(cwd, 'two.ndjson'), `${JSON.stringify(a)}\n${JSON.stringify(b)}\n`);
    fs.writeFileSync(path.join(cwd, 'one.json'), JSON.stringify([c], null, 2));
    const ndjson = await runCli(['import', 'two.ndjson', '--json', '--org', admin.orgId], { cwd });
    assert.equal(ndjson.code, 0, ndjson.stderr);
    assert.equal(JSON.parse(ndjson.stdout).imported.sessions, 2);
    const array = await runCli(['import', 'one.json', '--org', admin.orgId], { cwd });
    assert.equal(array.code, 0, array.stderr);
    assert.match(array.stdout, /Imported 1 sessions/);
    const exported = await exportWith(server.url, admin.token);
    const added = exported.json.map((s) => s._id).filter((id) => !before.includes(id));
    assert.deepEqual(added, [a._id, b._id, c._id]);
  });

  it('imports an empty file as nothing, and says so', async () => {
    fs.writeFileSync(path.join(cwd, 'empty.ndjson'), '');
    const result = await runCli(['import', 'empty.ndjson', '--org', admin.orgId], { cwd });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Imported 0 sessions/);
    assert.equal(result.stderr, 'coachport: empty.ndjson holds no sessions: nothing was imported.\n');
    const json = await runCli(['--json', 'import', 'empty.ndjson', '--org', admin.orgId], { cwd });
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(jsonLines(json.stderr), [{ warning: 'empty.ndjson holds no sessions: nothing was imported.' }]);
  });

  it('says why a command failed in one line, or with --json as one JSON object', async () => {
    const plain = await runCli(['import', 'missing.ndjson', '--org', admin.orgId], { cwd });
    assert.equal(plain.code, 1);
    assert.equal(plain.stderr, 'coachport: Cannot read missing.ndjson: ENOENT.\n');
    const json = await runCli(['--json', 'import', 'missing.ndjson', '--org', admin.orgId], { cwd });
    assert.equal(json.code, 1);
    assert.deepEqual(JSON.parse(json.stderr), { error: 'Cannot read missing.ndjson: ENOENT.' });
    // A usage error that the option parser finds itself: with --json, one JSON line and no help text after it.
    const usage = await runCli(['export', '--from', '2024-01-01', '--json'], { cwd });
    assert.equal(usage.code, 2);
    assert.deepEqual(jsonLines(usage.stderr), [{ error: "required option '--to <day>' not specified" }]);
    const usagePlain = await runCli(['export', '--from', '2024-01-01'], { cwd });
    assert.equal(usagePlain.code, 2);
    assert.match(usagePlain.stderr, /^error: required option '--to <day>' not specified\n\nUsage: coachport export/);
  });

  it('import of a malformed file fails, says where, and writes nothing', async () => {
    const bad = { ...session({ createdAt: '2024-01-08T00:00:00.000Z' }), meetingFormat: 7 };
    const before = await exportWith(server.url, admin.token);
    fs.writeFileSync(
      path.join(cwd, 'bad.ndjson'),
      `${JSON.stringify(session({ createdAt: '2024-01-08T00:00:00.000Z' }))}\n${JSON.stringify(bad)}\n`,
    );
    const result = await runCli(['import', 'bad.ndjson', '--org', admin.orgId], { cwd });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Element 1: meetingFormat must be a string or null/);
    const exported = await exportWith(server.url, admin.token);
    assert.deepEqual(exported.json, before.json);
  });

  it('token create, list and revoke work on the live server', async () => {
    const made = await runCli(['token', 'create', '--email', 'a@acme.test', '--org', admin.orgId, '--expires-in-days', '7', '--json'], {
      cwd,
    });
    assert.equal(made.code, 0, made.stderr);
    const token = JSON.parse(made.stdout) as { id: string; token: string; expiresAt: string };
    assert.equal((await exportWith(server.url, token.token)).status, 200);

    const listed = await runCli(['token', 'list', '--org', admin.orgId, '--json'], { cwd });
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(!listed.stdout.includes(token.token), 'listing never shows a secret');
    const tokens = JSON.parse(listed.stdout) as Array<{ id: string; active: boolean }>;
    assert.equal(tokens.length, 2);

    const revoked = await runCli(['token', 'revoke', token.id, '--org', admin.orgId], { cwd });
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal((await exportWith(server.url, token.token)).status, 401);
    const audit = await fetch(`${server.url}/api/v1/audit-log?action=token_revoked`, { headers: { apiToken: admin.token } });
    const entries = ((await audit.json()) as { entries: Array<{ actorUserId: string | null; target: string }> }).entries;
    assert.deepEqual(
      entries.map((e) => [e.actorUserId, e.target]),
      [[null, `token:${token.id}`]],
      'the command line is audited, with no actor',
    );
  });

  it('org create prints an invite link; user invite prints a new one (the reset) and names an unknown email', async () => {
    const env = { PUBLIC_URL: server.url };
    const human = await runCli(['org', 'create', '--name', 'Second', '--admin-email', 'Boss@Second.test'], { cwd, env });
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`invite link[^\\n]*\\n${server.url}/invite/[A-Za-z0-9_-]{43}\\n`));
    const orgId = /Organization (\S+) created/.exec(human.stdout)![1]!;
    const firstLink = /\/invite\/([A-Za-z0-9_-]+)/.exec(human.stdout)![1]!;
    const info = await fetch(`${server.url}/api/v1/auth/invites/${firstLink}`);
    assert.deepEqual(await info.json(), { email: 'boss@second.test', name: 'boss' });

    const ambiguous = await runCli(['user', 'invite', '--email', 'boss@second.test'], { cwd, env });
    assert.equal(ambiguous.code, 2, 'two organizations: --org is needed, as for every command');
    assert.match(ambiguous.stderr, /name one with --org/);
    const reset = await runCli(['user', 'invite', '--email', 'BOSS@second.test', '--org', orgId, '--json'], { cwd, env });
    assert.equal(reset.code, 0, reset.stderr);
    const invited = JSON.parse(reset.stdout) as { userId: string; email: string; inviteUrl: string };
    assert.equal(invited.email, 'boss@second.test');
    assert.ok(invited.inviteUrl.startsWith(`${server.url}/invite/`));
    assert.equal((await fetch(`${server.url}/api/v1/auth/invites/${firstLink}`)).status, 404, 'the new link voids the first');
    const secret = invited.inviteUrl.split('/invite/')[1]!;
    const set = await fetch(`${server.url}/api/v1/auth/invites/${secret}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password: 'a long enough password' }),
    });
    assert.equal(set.status, 200);
    assert.match(set.headers.get('set-cookie')!, /^coachport_session=/);

    const unknown = await runCli(['user', 'invite', '--email', 'nobody@second.test', '--org', orgId], { cwd, env });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /There is no user with the email nobody@second\.test in organization/);
  });

  it('refuses a seed larger than its heap holds, before making any of it, and says how to add more', async () => {
    const result = await runCli(['seed', '--org', admin.orgId, '--sessions', '1000000'], { cwd });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /--sessions 1,000,000 is more than one seed makes in this process's memory \(at most [\d,]+,/);
    assert.match(result.stderr, /Seed again with another --seed/);
    assert.doesNotMatch(result.stderr, /FATAL|heap out of memory/);
  });

  it('says what is wrong on a usage error, with a distinct exit code', async () => {
    const result = await runCli(['token', 'create', '--org', admin.orgId], { cwd });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /exactly one of --user or --email/);
  });

  it('ends quietly when the reader of its output goes away (| head)', async () => {
    // The read end closed before the command writes: its help meets EPIPE at once.
    const child = spawn(process.execPath, [BIN, 'export', '--help'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 141, stderr);
    assert.doesNotMatch(stderr, /EPIPE|Error/);
  });

  it('stops cleanly on SIGTERM', async () => {
    const own = tempDir();
    try {
      const serving = await startServe({ cwd: own });
      assert.equal(await serving.stop('SIGTERM'), 0);
    } finally {
      fs.rmSync(own, { recursive: true, force: true });
    }
  });
});
