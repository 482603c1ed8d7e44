import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from './helpers/backends.js';
import { session } from './helpers/fixtures.js';
import { runCli, startServe, type ServeProcess } from './helpers/processes.js';

const WINDOW = { startDate: '2024-01-01', endDate: '2024-03-01', timeAxis: 'createdAt' };

async function exportWith(url: string, token: string) {
  // The export bucket allows one request a second; the CLI test is not about limits.
  await new Promise((resolve) => setTimeout(resolve, 1_050));
  const response = await fetch(`${url}/api/v1/coaching-sessions`, {
    method: 'POST',
    headers: { apiToken: token, 'content-type': 'application/json' },
    body: JSON.stringify(WINDOW),
  });
  return { status: response.status, json: (await response.json()) as Array<{ _id: string }> };
}

describe('the coachport command line beside a running server', () => {
  let cwd: string;
  let server: ServeProcess;
  let admin: { orgId: string; userId: string; token: string };

  before(async () => {
    cwd = tempDir();
    server = await startServe({ cwd });
  });
  after(async () => {
    await server.stop();
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('org create prints {orgId, userId, token} whose token exports from the running server', async () => {
    const result = await runCli(['org', 'create', '--name', 'Acme', '--admin-email', 'a@acme.test', '--json'], { cwd });
    assert.equal(result.code, 0, result.stderr);
    admin = JSON.parse(result.stdout);
    assert.deepEqual(Object.keys(admin).sort(), ['inviteUrl', 'orgId', 'token', 'userId']);
    assert.ok(fs.existsSync(path.join(cwd, 'data', 'coachport.db')));
    const exported = await exportWith(server.url, admin.token);
    assert.equal(exported.status, 200);
    assert.deepEqual(exported.json, []);
  });

  it('import reads NDJSON and JSON arrays into the store the server reads', async () => {
    const a = session({ createdAt: '2024-01-05T00:00:00.000Z' });
    const b = session({ createdAt: '2024-01-06T00:00:00.000Z' });
    const c = session({ createdAt: '2024-01-07T00:00:00.000Z' });
    fs.writeFileSync(path.join(cwd, 'two.ndjson'), `${JSON.stringify(a)}\n${JSON.stringify(b)}\n`);
    fs.writeFileSync(path.join(cwd, 'one.json'), JSON.stringify([c], null, 2));
    const ndjson = await runCli(['import', 'two.ndjson', '--json'], { cwd });
    assert.equal(ndjson.code, 0, ndjson.stderr);
    assert.equal(JSON.parse(ndjson.stdout).imported.sessions, 2);
    const array = await runCli(['import', 'one.json'], { cwd });
    assert.equal(array.code, 0, array.stderr);
    assert.match(array.stdout, /Imported 1 sessions/);
    const exported = await exportWith(server.url, admin.token);
    assert.deepEqual(exported.json.map((s) => s._id), [a._id, b._id, c._id]);
  });

  it('import of a malformed file fails, says where, and writes nothing', async () => {
    const bad = { ...session({ createdAt: '2024-01-08T00:00:00.000Z' }), meetingFormat: 7 };
    fs.writeFileSync(path.join(cwd, 'bad.ndjson'), `${JSON.stringify(session({ createdAt: '2024-01-08T00:00:00.000Z' }))}\n${JSON.stringify(bad)}\n`);
    const result = await runCli(['import', 'bad.ndjson'], { cwd });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Element 1: meetingFormat must be a string or null/);
    const exported = await exportWith(server.url, admin.token);
    assert.equal(exported.json.length, 3);
  });

  it('token create, list and revoke work on the live server', async () => {
    const created = await runCli(['token', 'create', '--email', 'a@acme.test', '--expires-in-days', '7', '--json'], { cwd });
    assert.equal(created.code, 0, created.stderr);
    const token = JSON.parse(created.stdout) as { id: string; token: string; expiresAt: string };
    assert.equal((await exportWith(server.url, token.token)).status, 200);

    const listed = await runCli(['token', 'list', '--json'], { cwd });
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(!listed.stdout.includes(token.token), 'listing never shows a secret');
    const tokens = JSON.parse(listed.stdout) as Array<{ id: string; active: boolean }>;
    assert.equal(tokens.length, 2);

    const revoked = await runCli(['token', 'revoke', token.id], { cwd });
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal((await exportWith(server.url, token.token)).status, 401);
  });

  it('says what is wrong on a usage error, with a distinct exit code', async () => {
    const result = await runCli(['token', 'create'], { cwd });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /exactly one of --user or --email/);
  });

  it('stops cleanly on SIGTERM', async () => {
    assert.equal(await server.stop('SIGTERM'), 0);
  });
});
