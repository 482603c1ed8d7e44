import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Kysely, sql } from 'kysely';
import { postgresAdapter } from '../src/store/postgres/adapter.js';
import type { Database } from '../src/store/schema.js';
import { postgresBackend, tempDir } from './helpers/backends.js';
import { eventually } from './helpers/deadline.js';
import { session } from './helpers/fixtures.js';
import { heldTransaction } from './helpers/held-transaction.js';
import { openKysely } from './helpers/kysely.js';
import { BIN, runCli, startServe } from './helpers/processes.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/**
 * An import whose renames a long transaction keeps from the documents written beside it stays
 * committed: the server's import answers 200 with a `warning`, `coachport import` exits 0 and says
 * it after its summary, and the names stay recorded until a `coachport serve` splices them
 * (src/store/documents/names-to-splice.ts). PostgreSQL only: on SQLite an import holds the writer.
 */

const postgres = await postgresBackend();
if (postgres.unavailable && process.env.CI) throw new Error(`CI requires PostgreSQL: ${postgres.unavailable}`);

const WARNING =
  'The import has committed, but a name it changed could not be spliced into the documents written beside it ' +
  '(another transaction held a lock they need for longer than a rename waits): a session written while it ran ' +
  'may show an earlier name until a running coachport serve splices it (it tries every minute, less often while they stay held).';

describe('names an import leaves to splice (postgres)', { skip: postgres.unavailable ?? false }, () => {
  let server: TestServer;
  let direct: Kysely<Database>;
  after(async () => {
    await direct?.destroy();
    await server?.close();
  });

  /** A transaction of the test's own holding the organization's names lock as a coaching write under way does, until released. */
  const writeUnderWay = (orgId: string) => heldTransaction(direct, (trx) => postgresAdapter.lockNames(trx, orgId, 'write'));

  it('warns through the server and the command; a server that starts splices the names, also an import killed after commit', async () => {
    // Its own sweep only at its start: the names are left for the server started below.
    server = await startTestServer({ backend: postgres, namesLeftEveryMs: 3_600_000 });
    const { url } = server.config.database as { url: string };
    direct = openKysely(server.config.database).db;
    const viaServer = await server.createOrg('Through the server');
    const viaCommand = await server.createOrg('By the command');
    const killed = await server.createOrg('By a command killed after its commit');
    const renaming = async (orgId: string) => {
      const coach = await server.addUser(orgId, 'coach', 'Coach before');
      return session({
        coachId: coach.userId,
        coachName: 'Coach as imported',
        formCreatorId: coach.userId,
        formCreatorName: 'Coach as imported',
      });
    };
    const file = path.join(tempDir(), 'sessions.json');
    fs.writeFileSync(file, JSON.stringify([await renaming(viaCommand.orgId)]));
    const killedFile = path.join(tempDir(), 'sessions.json');
    fs.writeFileSync(killedFile, JSON.stringify([await renaming(killed.orgId)]));
    const body = [await renaming(viaServer.orgId)];
    const recordedOf = (orgId: string) => direct.selectFrom('names_to_splice').select('kind').where('org_id', '=', orgId).execute();

    /** `coachport import` killed (SIGKILL) once it has committed, while its name's splice waits. */
    async function importKilledAfterCommit(): Promise<NodeJS.Signals | null> {
      const child = spawn(process.execPath, [BIN, 'import', killedFile, '--org', killed.orgId], {
        env: { ...process.env, DATABASE_URL: url },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      try {
        // A deadline, not a speed check: the import starts a Node process on a loaded machine.
        const deadline = Date.now() + 60_000;
        while ((await recordedOf(killed.orgId)).length === 0) {
          if (child.exitCode !== null || child.signalCode !== null) assert.fail(`the import ended before it was killed: ${stderr}`);
          if (Date.now() > deadline) assert.fail(`the import did not commit within 60 s: ${stderr}`);
          await sleep(50);
        }
      } finally {
        child.kill('SIGKILL');
      }
      return exited;
    }

    const writes: Array<{ release(): Promise<void> }> = [];
    let answered: Awaited<ReturnType<TestServer['request']>>;
    let command: Awaited<ReturnType<typeof runCli>>;
    let killedBy: NodeJS.Signals | null;
    try {
      for (const org of [viaServer, viaCommand, killed]) writes.push(await writeUnderWay(org.orgId));
      // Each splice waits 5 s for the lock, three times over: the imports at once.
      [answered, command, killedBy] = await Promise.all([
        server.request('POST', '/api/v1/coaching-sessions/import', { token: viaServer.token, body }),
        runCli(['import', file, '--org', viaCommand.orgId], { cwd: tempDir(), env: { DATABASE_URL: url } }),
        importKilledAfterCommit(),
      ]);
    } finally {
      await Promise.all(writes.map((write) => write.release()));
    }
    assert.equal(answered.status, 200, answered.text);
    assert.deepEqual(answered.json, { imported: { sessions: 1, coachingPoints: 0, todos: 0, users: 2, templates: 1 }, warning: WARNING });
    assert.equal(command.code, 0, command.stderr);
    assert.equal(command.stdout, 'Imported 1 sessions, 0 coaching points and 0 to-dos.\n');
    assert.ok(command.stderr.endsWith(`coachport: ${WARNING}\n`), command.stderr);
    assert.equal(killedBy, 'SIGKILL');
    const killedSessions = await direct.selectFrom('coaching_sessions').select('id').where('org_id', '=', killed.orgId).execute();
    assert.equal(killedSessions.length, 1, 'the killed import had committed');
    // Recorded in the import's transaction: its name outlives the process that was to splice it.
    const recorded = () => direct.selectFrom('names_to_splice').select(['org_id', 'kind']).orderBy('org_id').execute();
    const orgs = [viaServer.orgId, viaCommand.orgId, killed.orgId].sort();
    assert.deepEqual(
      await recorded(),
      orgs.map((org_id) => ({ org_id, kind: 'user' })),
    );

    // The killed import's connection gives its import lock back once its lock wait ends and it finds
    // its client gone: until then a sweep would pass the organization over.
    const advisoryLocks = () =>
      sql<{ n: number }>`select count(*)::int as n from pg_locks l join pg_database d on d.oid = l.database
        where l.locktype = 'advisory' and d.datname = current_database()`
        .execute(direct)
        .then((result) => result.rows[0]!.n);
    await eventually(advisoryLocks, (n) => n === 0, 'no advisory lock left', 30_000);
    const serve = await startServe({ cwd: tempDir(), env: { DATABASE_URL: url } });
    try {
      await eventually(recorded, (rows) => rows.length === 0, 'the names spliced by a server that started');
      await eventually(
        async () => serve.output(),
        (output) => output.includes('"spliced":3,"left":0,"msg":"spliced names an import had left"'),
        'the server saying so',
      );
      const scraped = await fetch(`${serve.url}/metrics`);
      assert.equal(scraped.status, 200);
      const metrics = await scraped.text();
      assert.match(metrics, /^coachport_import_names_left 0$/m, 'its metric, after the pass that spliced them');
    } finally {
      await serve.stop();
    }
  });
});
