import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { CopyBinaryDocuments } from '../src/store/postgres/copy-binary.js';
import { postgresStoredDocuments } from '../src/store/postgres/export-reader.js';
import { openPostgresStore } from '../src/store/postgres/open.js';
import type { ExportChunk, Store } from '../src/store/store.js';
import { postgresBackend, type TestDatabase } from './helpers/backends.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const postgres = await postgresBackend();
if (postgres.unavailable && process.env.CI) throw new Error(`CI requires PostgreSQL: ${postgres.unavailable}`);

/** Text JSON is full of, and that COPY's text and CSV formats would escape or trip on. */
const AWKWARD = ['{"a":"back\\\\slash \\"quoted\\" \\n \\t \\u0000"}', '{"é":"€ 😀 日本語"}', 'raw\ttab\nnewline\r\\.', '', '{}'];

/** A binary COPY of one text column, as PostgreSQL writes it. */
function binaryCopy(docs: string[]): Buffer {
  const parts = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)];
  for (const doc of docs) {
    const bytes = Buffer.from(doc);
    const head = Buffer.alloc(6);
    head.writeInt16BE(1, 0);
    head.writeInt32BE(bytes.length, 2);
    parts.push(head, bytes);
  }
  const trailer = Buffer.alloc(2);
  trailer.writeInt16BE(-1, 0);
  parts.push(trailer);
  return Buffer.concat(parts);
}

function readInPieces(copy: Buffer, piece: number, chunkBytes: number): ExportChunk[] {
  const reader = new CopyBinaryDocuments(chunkBytes);
  const out: ExportChunk[] = [];
  for (let at = 0; at < copy.length; at += piece) out.push(...reader.push(copy.subarray(at, at + piece)));
  const last = reader.end();
  if (last) out.push(last);
  return out;
}

const joined = (chunks: ExportChunk[]) => Buffer.concat(chunks.map((c) => Buffer.from(c.data))).toString('utf8');

describe('reading a binary COPY of documents', () => {
  const docs = Array.from({ length: 40 }, (_, i) => `${AWKWARD[i % AWKWARD.length]}#${i}`);
  const copy = binaryCopy(docs);

  it('answers the documents joined by commas, byte for byte, however the copy is broken up', () => {
    for (const piece of [1, 2, 3, 5, 7, 19, 64, copy.length]) {
      const chunks = readInPieces(copy, piece, 100);
      assert.equal(joined(chunks), docs.join(','), `pieces of ${piece} bytes`);
      assert.equal(
        chunks.reduce((n, c) => n + c.sessions, 0),
        docs.length,
      );
    }
  });

  it('gathers chunks of at least the chunk size, cut only between documents', () => {
    const chunks = readInPieces(copy, 13, 100);
    assert.ok(chunks.length > 3);
    let seen = 0;
    for (const chunk of chunks.slice(0, -1)) {
      assert.ok(chunk.data.length >= 100);
      const text = Buffer.from(chunk.data).toString('utf8');
      const expected = (seen === 0 ? '' : ',') + docs.slice(seen, seen + chunk.sessions).join(',');
      assert.equal(text, expected, 'each chunk holds whole documents, and the counts say which');
      seen += chunk.sessions;
    }
  });

  it('answers nothing for a copy of no rows', () => {
    assert.deepEqual(readInPieces(binaryCopy([]), 4, 100), []);
  });

  it('refuses a copy that ends before its trailer, wherever it stops', () => {
    for (const cut of [0, 5, 19, 21, 25, 30, copy.length - 2, copy.length - 1]) {
      const reader = new CopyBinaryDocuments(100);
      reader.push(copy.subarray(0, cut));
      assert.throws(() => reader.end(), /ended before its trailer/, `cut at ${cut}`);
    }
  });

  it('refuses what is not a binary copy of one column', () => {
    assert.throws(() => new CopyBinaryDocuments(100).push(Buffer.from('[{"a":1}]\n'.repeat(3))), /not in the binary format/);
    const twoColumns = binaryCopy(['x']);
    twoColumns.writeInt16BE(2, 19);
    assert.throws(() => new CopyBinaryDocuments(100).push(twoColumns), /2 fields/);
    const nullDoc = binaryCopy(['x']);
    nullDoc.writeInt32BE(-1, 21);
    assert.throws(() => new CopyBinaryDocuments(100).push(nullDoc.subarray(0, 25)), /null document/);
  });
});

describe('the PostgreSQL export read by COPY', { skip: postgres.unavailable ?? false }, () => {
  let database: TestDatabase;
  let admin: pg.Client;
  /** One connection: every query after an export runs on the connection the export used. */
  let store: Store;
  const DAY = Date.parse('2030-01-01T00:00:00.000Z');
  const window = { axis: 'createdAt' as const, fromMs: DAY, toMs: DAY + 86_400_000 - 1 };

  const exportText = async (orgId: string) => {
    const chunks: ExportChunk[] = [];
    for await (const chunk of store.exportDocuments(orgId, window)) chunks.push(chunk);
    return { text: joined(chunks), sessions: chunks.reduce((n, c) => n + c.sessions, 0) };
  };
  /** Stored documents written straight into the table: this reads them, whatever wrote them. */
  const insertDocs = (orgId: string, count: number, doc: string) =>
    admin.query(
      `insert into session_documents (org_id, session_id, created_at, meeting_date, doc, xid, seq)
       select $1, 's' || lpad(i::text, 6, '0'), $2::bigint + i, null, replace($3, '#', i::text), pg_current_xact_id(), i
       from generate_series(1, $4::int) as i`,
      [orgId, DAY, doc, count],
    );

  before(async () => {
    database = await postgres.create();
    const url = (database.config as { url: string }).url;
    store = await openPostgresStore(url, 1);
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  });
  after(async () => {
    await admin.end();
    await store.close();
    await database.drop();
  });

  it('sends the stored text byte for byte, backslashes, tabs, newlines and every script included', async () => {
    for (const [i, doc] of AWKWARD.entries()) {
      await admin.query(
        'insert into session_documents (org_id, session_id, created_at, meeting_date, doc, xid, seq) ' +
          "values ('awkward', $1, $2, null, $3, pg_current_xact_id(), $4)",
        [`a${i}`, DAY + i, doc, i],
      );
    }
    const { text, sessions } = await exportText('awkward');
    assert.equal(text, AWKWARD.join(','));
    assert.equal(sessions, AWKWARD.length);
    const read = await admin.query<{ doc: string }>(
      `select doc from session_documents where org_id = 'awkward' order by created_at, session_id`,
    );
    assert.equal(text, read.rows.map((r) => r.doc).join(','), 'the same text a plain query reads');
  });

  const heldAndReleased =
    'keeps PostgreSQL waiting while the reader does not read, ' + 'and on walking away leaves its connection ready for the next query';
  it(heldAndReleased, async () => {
    // About 64 MB: more than the sockets between PostgreSQL and the reader can hold.
    const doc = `{"_id":"#","notes":"${'0123456789abcdef'.repeat(4096)}"}`;
    await insertDocs('big', 1000, doc);
    const expected = Array.from({ length: 1000 }, (_, i) => doc.replace('#', String(i + 1))).join(',');

    const documents = store.exportDocuments('big', window)[Symbol.asyncIterator]();
    const first = await documents.next();
    assert.equal(first.done, false);
    // The reader took one chunk and stopped: the COPY must be held up on writing to it, not done.
    let copying: { pid: number; wait_event: string | null } | undefined;
    for (let i = 0; i < 200 && copying?.wait_event !== 'ClientWrite'; i++) {
      if (i > 0) await sleep(50);
      const { rows } = await admin.query<{ pid: number; wait_event: string | null }>(
        "select pid, wait_event from pg_stat_activity where datname = current_database() and state = 'active' " +
          "and query like 'copy (select doc%'",
      );
      copying = rows[0];
    }
    assert.equal(copying?.wait_event, 'ClientWrite', 'PostgreSQL waits for the reader instead of the reader holding the export in memory');

    await documents.return!(undefined);
    const pid = copying!.pid;
    let state: string | undefined;
    for (let i = 0; i < 100 && state !== 'idle'; i++) {
      if (i > 0) await sleep(20);
      state = (await admin.query<{ state: string }>(`select state from pg_stat_activity where pid = $1`, [pid])).rows[0]?.state;
    }
    assert.equal(state, 'idle', 'the COPY was stopped and its connection kept open');
    assert.deepEqual(store.poolStats(), { total: 1, idle: 1, waiting: 0 });

    const again = await exportText('big');
    assert.equal(again.sessions, 1000);
    assert.ok(again.text === expected, 'the next export on the same connection is whole');
    const still = await admin.query<{ n: string }>(`select count(*) as n from pg_stat_activity where pid = $1`, [pid]);
    assert.equal(still.rows[0]?.n, '1', 'the export used the connection that had been walked away from');
  });

  it("outlasts the database's statement_timeout, and gives the connection its own timeout back", async () => {
    // 16 MB, more than the sockets hold, so the COPY is still running while the reader waits.
    const doc = `{"_id":"#","notes":"${'0123456789abcdef'.repeat(1024)}"}`;
    await insertDocs('patient', 1000, doc);
    const url = new URL((database.config as { url: string }).url);
    url.searchParams.set('options', '-c statement_timeout=300');
    const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    const timeout = async () => (await pool.query<{ statement_timeout: string }>('show statement_timeout')).rows[0]!.statement_timeout;
    try {
      assert.equal(await timeout(), '300ms');
      const chunks: ExportChunk[] = [];
      for await (const chunk of postgresStoredDocuments(pool, 'patient', window)) {
        if (chunks.push(chunk) === 1) await sleep(1000);
      }
      assert.equal(
        chunks.reduce((n, c) => n + c.sessions, 0),
        1000,
      );
      assert.ok(
        joined(chunks) === Array.from({ length: 1000 }, (_, i) => doc.replace('#', String(i + 1))).join(','),
        'every document, after a pause three times the timeout',
      );
      assert.equal(await timeout(), '300ms', 'after an export that ran to its end');

      const walkedAway = postgresStoredDocuments(pool, 'patient', window)[Symbol.asyncIterator]();
      await walkedAway.next();
      await walkedAway.return(undefined);
      assert.equal(await timeout(), '300ms', 'after an export its reader walked away from');
    } finally {
      await pool.end();
    }
  });

  it('answers nothing for a window with no sessions', async () => {
    assert.deepEqual(await exportText('nobody'), { text: '', sessions: 0 });
  });
});
