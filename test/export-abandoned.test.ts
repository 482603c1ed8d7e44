import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { eventually } from './helpers/deadline.js';
import { session } from './helpers/fixtures.js';
import { sqliteFileOf, startTestServer, type TestServer } from './helpers/server.js';

const WINDOW = { startDate: '2024-04-01', endDate: '2024-04-01', timeAxis: 'createdAt' };

/**
 * An export whose client is gone before its first byte (it sent the request and hung up while the
 * server read the store's first page) still ends its read: a read left open would hold its snapshot
 * for as long as the process lives, and with it every WAL frame written after (SQLite's checkpoints
 * cannot pass a reader).
 */
describe('an export whose client left before its first byte', () => {
  let server: TestServer;
  let admin: { orgId: string; token: string };
  let file: string;

  before(async () => {
    server = await startTestServer();
    file = sqliteFileOf(server);
    admin = await server.createOrg('Gone');
    const docs = Array.from({ length: 200 }, (_, i) =>
      session({ createdAt: new Date(Date.UTC(2024, 3, 1) + i * 60_000).toISOString(), coachNotes: 'x'.repeat(2000) }),
    );
    assert.equal((await server.request('POST', '/api/v1/coaching-sessions/import', { token: admin.token, body: docs })).status, 200);
  });
  after(() => server.close());

  /** Sends the export's request on a raw socket and closes it at once, before any answer. */
  async function requestAndHangUp(): Promise<void> {
    const body = JSON.stringify(WINDOW);
    const { port } = new URL(server.url);
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => {
        socket.end(
          `POST /api/v1/coaching-sessions HTTP/1.1\r\nHost: x\r\napiToken: ${admin.token}\r\n` +
            `content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
          () => {
            socket.destroy();
            resolve();
          },
        );
      });
      socket.on('error', reject);
    });
  }

  /** Whether a checkpoint could copy the whole WAL back: no reader holds an older snapshot. */
  function checkpointsFully(): boolean {
    const db = new BetterSqlite3(file);
    try {
      // No wait for readers: a reader still open now is the leak this test looks for.
      db.pragma('busy_timeout = 0');
      return (db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>)[0]!.busy === 0;
    } finally {
      db.close();
    }
  }

  it('ends its read, so no snapshot holds back the checkpoints', async () => {
    for (let i = 0; i < 5; i++) await requestAndHangUp();
    // Each abandoned export is audited (0 sessions, cut) once the server has seen its client go.
    await eventually(
      () => server.store.readAudit(admin.orgId, { fromMs: null, toMs: null, action: 'export', after: null, limit: 10 }),
      (entries) => entries.length === 5,
      'the five abandoned exports audited',
    );
    // A write after them: frames that a snapshot left open would keep in the WAL.
    const written = await server.request('POST', '/api/v1/coaching-templates', { token: admin.token, body: { name: 'After' } });
    assert.equal(written.status, 201, written.text);
    // The reads end as the audits are written, on the same close: a moment apart. Left open, one
    // stays open for as long as the server runs (3 s is ample for a read to end, and no leak ends).
    await eventually(
      async () => checkpointsFully(),
      (full) => full,
      'a checkpoint of the whole WAL: no export read left open',
      3_000,
    );
    const answered = await server.exportSessions(admin.token, WINDOW);
    assert.equal(answered.status, 200);
    assert.equal(answered.json.length, 200);
  });
});
