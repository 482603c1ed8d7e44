import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { session } from './helpers/fixtures.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const WINDOW = { startDate: '2024-04-01', endDate: '2024-04-01', timeAxis: 'createdAt' };
const BATCHES = 4;
const SESSIONS = BATCHES * 1500;

/**
 * A server holding about 28 MB of one day's sessions: several times what the kernel's socket buffers
 * hold in flight to a client that reads nothing, so an export of them cannot be sent whole.
 */
async function serverWithLargeDay(): Promise<{ server: TestServer; admin: { orgId: string; token: string } }> {
  const server = await startTestServer();
  const admin = await server.createOrg('Shutdown');
  for (let batch = 0; batch < BATCHES; batch++) {
    const docs = Array.from({ length: SESSIONS / BATCHES }, (_, i) => {
      const at = Date.UTC(2024, 3, 1) + (batch * (SESSIONS / BATCHES) + i) * 14_000;
      return session({ createdAt: new Date(at).toISOString(), coachNotes: 'x'.repeat(4000) });
    });
    const imported = await server.request('POST', '/api/v1/coaching-sessions/import', { token: admin.token, body: docs });
    assert.equal(imported.status, 200, imported.text);
  }
  return { server, admin };
}

/** An export through node:http, paused after its first chunk: the socket is not read further. */
async function pausedExport(server: TestServer, token: string): Promise<http.IncomingMessage> {
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    // No keep-alive: once the export is sent, its connection closes instead of idling until the agent's timeout.
    const request = http.request(`${server.url}/api/v1/coaching-sessions`, {
      method: 'POST',
      headers: { apiToken: token, 'content-type': 'application/json' },
      agent: false,
    });
    request.on('response', resolve).on('error', reject);
    request.end(JSON.stringify(WINDOW));
  });
  assert.equal(response.statusCode, 200);
  await new Promise((resolve) => response.once('data', resolve));
  response.pause();
  response.on('error', () => undefined);
  return response;
}

/** The app's close as src/server.ts runs it on SIGTERM: in-flight requests finish until the timeout, then are cut. */
async function shutDown(server: TestServer, timeoutMs: number): Promise<void> {
  const cut = setTimeout(() => server.app.server.closeAllConnections(), timeoutMs);
  await server.app.close();
  clearTimeout(cut);
}

/** The export entries, read at once: the server's store would be closed next. */
async function exportEntries(server: TestServer, orgId: string) {
  const entries = await server.store.readAudit(orgId, { fromMs: null, toMs: null, action: 'export', after: null, limit: 10 });
  return entries.map((e) => e.details as { completed: boolean; sessions: number });
}

/**
 * A server shutting down lets in-flight exports finish until its timeout, then cuts them
 * (src/server.ts). Either way the export is in the audit log before the store closes: its entry is
 * written when its response closes, and the close waits for that.
 */
describe('an export in flight when the server shuts down', () => {
  it('is audited as cut when the shutdown cuts it', async () => {
    const { server, admin } = await serverWithLargeDay();
    try {
      const response = await pausedExport(server, admin.token);
      await shutDown(server, 300);
      response.destroy();
      const entries = await exportEntries(server, admin.orgId);
      assert.equal(entries.length, 1, 'the cut export was audited before the server finished closing');
      assert.equal(entries[0]!.completed, false);
      assert.ok(entries[0]!.sessions < SESSIONS, `${entries[0]!.sessions} sessions counted`);
    } finally {
      await server.close();
    }
  });

  it('is audited as complete when it finishes within the shutdown timeout', async () => {
    const { server, admin } = await serverWithLargeDay();
    try {
      const response = await pausedExport(server, admin.token);
      const closing = shutDown(server, 30_000);
      // The client reads on once the server is closing, and gets the whole export.
      let bytes = 0;
      response.on('data', (chunk: Buffer) => (bytes += chunk.length));
      const ended = new Promise((resolve) => response.once('end', resolve));
      response.resume();
      await ended;
      await closing;
      assert.ok(bytes > 20_000_000, `${bytes} bytes after the first chunk`);
      const entries = await exportEntries(server, admin.orgId);
      assert.deepEqual(
        entries.map((e) => [e.completed, e.sessions]),
        [[true, SESSIONS]],
      );
    } finally {
      await server.close();
    }
  });
});
