import assert from 'node:assert/strict';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import BetterSqlite3 from 'better-sqlite3';
import { acceptsGzip } from '../src/http/accept-encoding.js';
import { pollUntil } from './helpers/deadline.js';
import { session } from './helpers/fixtures.js';
import { importBulkySessions, sqliteFileOf, startTestServer, type TestServer, type TestServerOptions } from './helpers/server.js';

const WINDOW = { startDate: '2030-01-01', endDate: '2030-03-31', timeAxis: 'createdAt' };

/** A raw HTTP exchange (fetch would undo the gzip encoding this test looks at). */
function post(url: string, token: string, headers: Record<string, string> = {}): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${url}/api/v1/coaching-sessions`,
      { method: 'POST', headers: { apiToken: token, 'content-type': 'application/json', ...headers } },
      resolve,
    );
    request.on('error', reject);
    request.end(JSON.stringify(WINDOW));
  });
}

async function bodyOf(response: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('Accept-Encoding', () => {
  it('allows gzip when named or covered by *, and not when refused or absent', () => {
    assert.equal(acceptsGzip('gzip, deflate, br'), true);
    assert.equal(acceptsGzip('br;q=1.0, GZIP;q=0.5'), true);
    assert.equal(acceptsGzip('*'), true);
    assert.equal(acceptsGzip('gzip;q=0'), false);
    assert.equal(acceptsGzip('*, gzip;q=0'), false);
    assert.equal(acceptsGzip('identity'), false);
    assert.equal(acceptsGzip(undefined), false);
  });
});

/** A server configured by `configure`, with an organization of 3,000 sessions of about 4 KB each (12 MB to export). */
async function serverExporting3000(configure: TestServerOptions['configure']): Promise<{ server: TestServer; token: string }> {
  const server = await startTestServer({ configure });
  const { token } = await server.createOrg();
  await importBulkySessions(server, token, 3000, 4000, Date.UTC(2030, 0, 1));
  return { server, token };
}

describe('the export on the wire', () => {
  let server: TestServer;
  let token: string;

  before(async () => {
    ({ server, token } = await serverExporting3000((c) => ({ ...c, exportConcurrency: 1 })));
  });
  after(() => server.close());

  it('is gzip-encoded when the client allows it, and the same bytes once decoded', async () => {
    const plain = await post(server.url, token);
    assert.equal(plain.headers['content-encoding'], undefined);
    const plainBytes = await bodyOf(plain);
    assert.equal((JSON.parse(plainBytes.toString('utf8')) as unknown[]).length, 3000);
    const zipped = await post(server.url, token, { 'accept-encoding': 'gzip, deflate' });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.match(String(zipped.headers.vary), /Accept-Encoding/i);
    const zippedBytes = await bodyOf(zipped);
    assert.ok(zippedBytes.length * 5 < plainBytes.length, `compressed ${plainBytes.length} to ${zippedBytes.length}`);
    assert.ok(gunzipSync(zippedBytes).equals(plainBytes));
    const refused = await post(server.url, token, { 'accept-encoding': 'gzip;q=0' });
    assert.equal(refused.headers['content-encoding'], undefined);
    assert.ok((await bodyOf(refused)).equals(plainBytes));
  });

  it('answers 503 {"error"} with Retry-After beyond EXPORT_CONCURRENCY, and serves again once a slot frees', async () => {
    const first = await post(server.url, token);
    assert.equal(first.statusCode, 200);
    first.pause();
    const refused = await post(server.url, token);
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.headers['retry-after'], '1');
    assert.deepEqual(Object.keys(JSON.parse((await bodyOf(refused)).toString('utf8')) as object), ['error']);
    first.destroy();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      const again = await post(server.url, token);
      status = again.statusCode ?? 0;
      await bodyOf(again);
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(status, 200);
  });
});

describe('an export turned away for the server’s capacity', () => {
  let server: TestServer;
  let token: string;

  before(async () => {
    ({ server, token } = await serverExporting3000((c) => ({
      ...c,
      exportConcurrency: 1,
      limits: { ...c.limits, export: { perSecond: 1, perMinute: 30 } },
    })));
  });
  after(() => server.close());

  it('uses up none of the organization’s quota (SPEC §2: rejected requests do not)', async () => {
    server.clock.advance(120_000);
    const first = await post(server.url, token);
    assert.equal(first.statusCode, 200);
    first.pause();
    server.clock.advance(1_000);
    const refused = await post(server.url, token);
    assert.equal(refused.statusCode, 503);
    await bodyOf(refused);
    first.destroy();
    // The same second as the 503: its place was given back, so only the capacity can refuse this one.
    let again: http.IncomingMessage;
    for (;;) {
      again = await post(server.url, token);
      if (again.statusCode !== 503) break;
      await bodyOf(again);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const text = (await bodyOf(again)).toString('utf8');
    assert.equal(again.statusCode, 200, text.slice(0, 200));
  });
});

/** The most loopback can hold in flight on one connection: the kernel's largest receive and send buffers. */
function socketBufferBytes(): number {
  const largest = (file: string, fallback: number) => {
    try {
      return Number(fs.readFileSync(file, 'utf8').trim().split(/\s+/)[2]) || fallback;
    } catch {
      return fallback;
    }
  };
  return largest('/proc/sys/net/ipv4/tcp_rmem', 6 << 20) + largest('/proc/sys/net/ipv4/tcp_wmem', 4 << 20);
}
/** What the server holds of an export besides the socket: the export thread's pages read ahead, the streams' buffers. */
const SERVER_AHEAD_BYTES = 8 << 20;

describe('an export whose client stops reading', () => {
  // Generous beside the client's pauses below, so that a pause of the whole process (the server
  // and the client share it) is not taken for a stalled client.
  const STALL_MS = 1500;
  let server: TestServer;
  let token: string;
  let sessions: number;

  before(async () => {
    server = await startTestServer({ configure: (c) => ({ ...c, exportConcurrency: 1, exportStallTimeoutMs: STALL_MS }) });
    ({ token } = await server.createOrg());
    // Text gzip shrinks only to about 4.5 KB a session, and more of it than loopback can hold in
    // flight, so the server really waits on the client, with or without gzip: a connection's
    // receive buffer grows toward tcp_rmem's largest (32 MB here) as data arrives, read or not, and
    // 5,000 sessions (22.8 MB of gzip) were once sent whole to a client that had stopped reading.
    sessions = Math.ceil((1.25 * (socketBufferBytes() + SERVER_AHEAD_BYTES)) / 4500);
    for (let from = 0; from < sessions; from += 3000) {
      const docs = Array.from({ length: Math.min(3000, sessions - from) }, (_, k) =>
        session({
          createdAt: new Date(Date.UTC(2030, 0, 1) + (from + k) * 60_000).toISOString(),
          coachNotes: `${from + k} ${randomBytes(4500).toString('base64')}`,
        }),
      );
      const reply = await server.request('POST', '/api/v1/coaching-sessions/import', { token, body: docs });
      assert.equal(reply.status, 200, reply.text);
    }
  });
  after(() => server.close());

  /** Holds an export unread until the server frees its slot (the next export is a 200), and reads what the stalled client got. */
  async function stallUntilCut(headers: Record<string, string>) {
    const stalled = await post(server.url, token, headers);
    assert.equal(stalled.statusCode, 200);
    stalled.pause();
    const started = performance.now();
    const held = await post(server.url, token);
    await bodyOf(held);
    assert.equal(held.statusCode, 503, 'the stalled export holds the only slot at first');
    let next = held;
    while (next.statusCode === 503 && performance.now() - started < 30_000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      next = await post(server.url, token);
      if (next.statusCode === 503) await bodyOf(next);
    }
    assert.equal(next.statusCode, 200, 'the slot was released');
    const freedAfter = performance.now() - started;
    if (freedAfter < STALL_MS) {
      // Say how: the stalled export sent whole (more buffers than expected), or cut by an error.
      await bodyOf(next);
      stalled.resume();
      let sent = 0;
      try {
        for await (const chunk of stalled) sent += (chunk as Buffer).length;
      } catch (error) {
        assert.fail(`the slot was freed after ${Math.round(freedAfter)} ms, the stalled export cut after ${sent} bytes: ${error}`);
      }
      assert.fail(`the slot was freed after ${Math.round(freedAfter)} ms, the stalled export sent whole (${sent} bytes)`);
    }
    assert.equal((JSON.parse((await bodyOf(next)).toString('utf8')) as unknown[]).length, sessions);
    // The paused client notices only when it reads again: what was sent, then the cut.
    let received = 0;
    try {
      stalled.resume();
      for await (const chunk of stalled) received += (chunk as Buffer).length;
      assert.equal(stalled.complete, false, `the stalled export was cut (${received} bytes received)`);
    } catch (error) {
      assert.ok(!(error instanceof assert.AssertionError), String(error));
    }
  }

  it('is cut once it has taken no byte for EXPORT_STALL_TIMEOUT_MS: its slot and its read snapshot are free again', async () => {
    await stallUntilCut({});
    const connection = new BetterSqlite3(sqliteFileOf(server));
    try {
      // TRUNCATE waits (up to the busy timeout) for every reader to be on the newest snapshot, but
      // answers busy at once while the server's background checkpointer holds the checkpoint lock:
      // tried again until it passes, which it never does while a reader is left on an old snapshot.
      connection.pragma('busy_timeout = 1000');
      const truncated = () => (connection.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>)[0]!.busy === 0;
      await pollUntil(truncated, 'no reader holding an old snapshot (a TRUNCATE checkpoint that succeeds)', 8_000);
    } finally {
      connection.close();
    }
  });

  it('is cut the same when it is gzip-encoded', async () => {
    await stallUntilCut({ 'accept-encoding': 'gzip' });
  });

  it('is not cut while the client reads slowly, pausing for less than the timeout', async () => {
    const slow = await post(server.url, token);
    assert.equal(slow.statusCode, 200);
    const chunks: Buffer[] = [];
    let pauses = 0;
    await new Promise<void>((resolve, reject) => {
      slow.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (chunks.length % 80 === 0) {
          pauses++;
          slow.pause();
          setTimeout(() => slow.resume(), STALL_MS / 4);
        }
      });
      slow.once('end', resolve);
      slow.once('error', reject);
      slow.once('aborted', () => reject(new Error('the server cut a client that was reading')));
    });
    assert.ok(pauses > 3, `the client paused ${pauses} times`);
    assert.equal((JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown[]).length, sessions);
  });
});

describe('an export whose database cannot be read', () => {
  it('is an error answer with its {"error"}, not a 200 cut after its opening bracket', async () => {
    const server = await startTestServer();
    try {
      const { token } = await server.createOrg();
      const imported = await server.request('POST', '/api/v1/coaching-sessions/import', {
        token,
        body: [session({ createdAt: '2030-01-02T08:00:00.000Z' })],
      });
      assert.equal(imported.status, 200, imported.text);
      // What the export reads gone from under it, as a database that fails at the first query.
      const db = new BetterSqlite3(sqliteFileOf(server));
      db.exec('drop view session_documents_full');
      db.close();
      const response = await post(server.url, token);
      const body = (await bodyOf(response)).toString();
      assert.ok(response.statusCode! >= 500, `status ${response.statusCode}: ${body}`);
      assert.equal(typeof (JSON.parse(body) as { error?: unknown }).error, 'string', body);
      assert.doesNotMatch(body, /session_documents_full|SQLITE/, 'no internals in the answer');
    } finally {
      await server.close();
    }
  });
});

describe('exports pipelined on one connection that dies', () => {
  let server: TestServer;
  let token: string;

  before(async () => {
    ({ server, token } = await serverExporting3000((c) => ({ ...c, exportConcurrency: 2 })));
  });
  after(() => server.close());

  it('give back both places, the one still queued behind the other too', async () => {
    // Two requests written at once: the second's answer waits behind the first's, which is cut.
    const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
    const body = JSON.stringify(WINDOW);
    const head = ['POST /api/v1/coaching-sessions HTTP/1.1', 'Host: x', `apiToken: ${token}`, 'content-type: application/json'];
    const request = `${[...head, `content-length: ${Buffer.byteLength(body)}`].join('\r\n')}\r\n\r\n${body}`;
    socket.write(request + request);
    const first = await new Promise<Buffer>((resolve, reject) => {
      socket.once('data', resolve);
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('the server closed the connection before answering')));
    });
    assert.match(first.toString('latin1'), /^HTTP\/1\.1 200 /);
    socket.on('error', () => undefined);
    socket.destroy();
    // Each ended (the one whose answer never reached the socket too, as cut): each has its audit entry.
    const ended = () => {
      const db = new BetterSqlite3(sqliteFileOf(server), { readonly: true });
      try {
        return Number(db.prepare("select count(*) from audit_log where action = 'export'").pluck().get());
      } finally {
        db.close();
      }
    };
    await pollUntil(() => ended() === 2, 'both exports ended');
    // Both places free: one export held open takes one, and another still finds its own.
    let statuses: number[] = [];
    for (let i = 0; i < 50; i++) {
      const held = await post(server.url, token);
      const other = await post(server.url, token);
      statuses = [held.statusCode ?? 0, other.statusCode ?? 0];
      held.destroy();
      await bodyOf(other).catch(() => undefined);
      if (statuses.every((status) => status === 200)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual(statuses, [200, 200]);
  });
});
