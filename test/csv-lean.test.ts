import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExportClient } from '../src/client/export-client.js';
import { TABLE_NAMES, type TableName } from '../src/client/tables.js';
import { CsvBytesTranscoder } from '../src/client/writers/csv-bytes.js';
import { CsvWriter } from '../src/client/writers/csv-writer.js';
import { idHash, RecordHashes } from '../src/client/writers/record-hashes.js';
import type { ExportSession } from '../src/contract/schemas.js';
import { Random } from '../src/seed/random.js';
import { tempDir } from './helpers/backends.js';
import { VirtualClock } from './helpers/clock.js';
import { documents, expected } from './helpers/csv-documents.js';
import { json, startFaultServer } from './helpers/fault-server.js';
import { runCli } from './helpers/processes.js';
import { point, session, todo } from './helpers/fixtures.js';

/**
 * `coachport export --format csv` writes the points and to-dos listed under their document's
 * session alone without looking them up (CsvWriter's lean records), keeps each record's hashes, and
 * fetches a window again, the exact way, once a record came twice. Whatever the server sends, the
 * files must be those of writing every record once, at its first appearance.
 */

let root: string;
before(() => {
  root = tempDir('coachport-csv-lean-');
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** 2024-01-01 to 2024-06-30: three windows of at most 90 days. */
const RANGE = { from: '2024-01-01', to: '2024-06-30', timeAxis: 'createdAt' as const };
const day = (iso: string) => iso.slice(0, 10);

/** A server that answers each window with the documents of `docs` created in it. */
function serving(docs: ExportSession[]) {
  return startFaultServer((request, res) => {
    const { startDate, endDate } = request.body;
    json(
      res,
      200,
      docs.filter((doc) => day(doc.createdAt) >= startDate && day(doc.createdAt) <= endDate),
    );
  });
}

/**
 * `docs` exported through a server that answers each window with the documents created in it, as
 * `coachport export` writes them (lean, on `threads` threads with small batches, or on this one).
 */
async function exportCsv(name: string, docs: ExportSession[], threads: number) {
  const server = await serving(docs);
  const writer = new CsvWriter(path.join(root, name), null, {}, { threads, batchBytes: 700 }, true);
  const client = new ExportClient({ baseUrl: server.url, token: 'cp_test', clock: new VirtualClock(), retry: { maxAttempts: 1 } });
  const sink = {
    text: (bytes: Uint8Array) => writer.writeText(bytes),
    discard: () => writer.discard(),
    parses: true,
    writeLeading: (bytes: Buffer, at: number) => writer.writeLeading(bytes, at),
    response: writer.response,
    end: () => writer.endResponse(),
  };
  try {
    for await (const _ of client.exportWindowsInto(RANGE, sink)) writer.commit();
  } finally {
    writer.finish({ interrupted: false });
    await server.close();
  }
  const files = Object.fromEntries(TABLE_NAMES.map((t) => [t, fs.readFileSync(writer.fileOf(t), 'utf8')])) as Record<TableName, string>;
  return { files, requests: server.seen.length };
}

const at = (date: string) => `${date}T09:00:00.000Z`;

/** A session of `date` with a point and a to-do of its own, and the records given. */
function sessionOn(date: string, extra: Pick<ExportSession, 'coachingPoints' | 'todos'> | null = null): ExportSession {
  const s = session({ createdAt: at(date), updatedAt: at(date) });
  s.coachingPoints = [point([s._id]), ...(extra?.coachingPoints ?? [])];
  s.todos = [todo([s._id]), ...(extra?.todos ?? [])];
  return s;
}

describe('CSV records written without a look-up', () => {
  for (const threads of [0, 1]) {
    const on = threads === 0 ? 'on the reading thread' : 'on a row thread';

    it(`writes a consistent export once, each record once (${on})`, async () => {
      const a = session({ createdAt: at('2024-02-01') });
      const b = session({ createdAt: at('2024-05-01') });
      const shared = point([a._id, b._id]);
      a.coachingPoints = [point([a._id]), shared];
      b.coachingPoints = [shared, point([b._id])];
      a.todos = [todo([a._id])];
      b.todos = [todo([b._id, a._id])];
      const docs = [sessionOn('2024-01-02'), a, sessionOn('2024-02-03'), b, sessionOn('2024-06-30')];
      const { files, requests } = await exportCsv(`consistent-${threads}`, docs, threads);
      assert.deepEqual(files, expected(docs, {}));
      assert.equal(requests, 3, 'one request a window: nothing came twice');
    });

    const twice: Array<[string, () => ExportSession[]]> = [
      [
        'a session that comes twice in a response',
        () => {
          const s = sessionOn('2024-01-05');
          return [sessionOn('2024-01-04'), s, s, sessionOn('2024-05-05')];
        },
      ],
      [
        'a record moved between windows, its own session’s alone in each',
        () => {
          const first = sessionOn('2024-01-06');
          const later = sessionOn('2024-05-06');
          const moved = { ...first.coachingPoints[0]!, coachingFormIds: [later._id], coachNotes: 'moved' };
          later.coachingPoints.push(moved);
          return [sessionOn('2024-01-05'), first, later];
        },
      ],
      [
        'a record listed twice in its session',
        () => {
          const s = sessionOn('2024-02-07');
          s.todos.push(s.todos[0]!);
          return [sessionOn('2024-02-06'), s];
        },
      ],
      [
        'a record shown under a session its list does not name',
        () => {
          const owner = sessionOn('2024-03-01');
          const other = sessionOn('2024-03-02', { coachingPoints: [], todos: [] });
          other.coachingPoints.push(owner.coachingPoints[0]!);
          return [sessionOn('2024-02-28'), owner, other];
        },
      ],
      [
        'ids a file for people reads back as others',
        () => {
          // `'=y` is written as it is and `=y` as `'=y`: the files alone cannot tell them apart.
          const first = sessionOn('2024-01-08');
          first.coachingPoints.push(point([first._id], { _id: '=x' }));
          first.todos.push(todo([first._id], { _id: "'=y" }));
          const again = sessionOn('2024-04-08');
          const other = sessionOn('2024-04-09');
          other.todos.push(todo([other._id], { _id: '=y' }), { ...first.todos[1]!, coachingFormIds: [other._id] });
          other.coachingPoints.push({ ...first.coachingPoints[1]!, coachingFormIds: [other._id] });
          return [sessionOn('2024-01-07'), first, again, again, other];
        },
      ],
    ];
    // Each after another session: the first document a process (or row thread) reads teaches it
    // the server's key order and is looked up like any record written the parsing way.
    for (const [what, make] of twice) {
      it(`writes each record once after ${what}, fetching that window again (${on})`, async () => {
        const docs = make();
        const { files, requests } = await exportCsv(`${what.split(' ').slice(1, 4).join('-')}-${threads}`, docs, threads);
        assert.deepEqual(files, expected(docs, {}));
        assert.equal(requests, 4, 'three windows, one of them twice');
      });
    }
  }

  it('coachport export --format csv fetches a window again, saying so, when a record came twice', async () => {
    const s = sessionOn('2024-02-10');
    const docs = [sessionOn('2024-02-09'), s, s];
    const server = await serving(docs);
    const cwd = tempDir('coachport-csv-lean-cli-');
    try {
      const range = ['--from', RANGE.from, '--to', RANGE.to, '--per-second', '1000', '--per-minute', '100000'];
      const result = await runCli(['export', '--url', server.url, ...range, '--format', 'csv', '--out', 'tables'], {
        cwd,
        env: { COACHPORT_TOKEN: 'cp_test' },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /retrying 2024-01-01\.\.2024-03-30 in 0 s: a point or to-do came twice; fetching the window again/);
      assert.equal(server.seen.length, 4);
      const files = Object.fromEntries(TABLE_NAMES.map((t) => [t, fs.readFileSync(path.join(cwd, 'tables', `${t}.csv`), 'utf8')]));
      assert.deepEqual(files, expected(docs, {}));
    } finally {
      await server.close();
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('hashes each record the module wrote without a look-up as record-hashes.ts hashes its id’s text', () => {
    const random = new Random(7);
    const docs = documents(random, 30, false);
    // Own records with ids that need escapes in JSON and bytes beyond ASCII.
    docs.forEach((doc, i) => {
      doc.todos.push(todo([doc._id], { _id: `${['q"uote', 'back\\slash', 'line\nbreak', '한글', 'plain'][i % 5]}-${i}` }));
    });
    const lean: number[] = [];
    const transcoder = new CsvBytesTranscoder(
      { seen: { points: new Set(), todos: new Set() }, onRecord: () => undefined, onLean: (first, second) => lean.push(first, second) },
      () => undefined,
    );
    transcoder.leanRecords = true;
    for (const doc of docs) assert.ok(transcoder.writeDocument(Buffer.from(JSON.stringify(doc))));
    transcoder.flush();
    assert.equal(transcoder.wasmWritten, docs.length, 'every document written by csv-rows.wasm');
    const own = docs.flatMap((doc) =>
      [...doc.coachingPoints, ...doc.todos].filter((r) => r.coachingFormIds.length === 1 && r.coachingFormIds[0] === doc._id),
    );
    assert.ok(own.length > 30);
    const hashes = new Int32Array(own.length * 2);
    for (const [i, record] of own.entries()) idHash(record._id, hashes, i * 2);
    assert.deepEqual(lean, [...hashes]);
  });
});

describe('record hashes', () => {
  it('finds a pair seen twice, since the last commit or before it, and nothing else', () => {
    const hashes = new RecordHashes();
    // The same low 24 bits of the first hash, different otherwise: looked at whole, not alike.
    hashes.add(0x00abcdef, 1);
    hashes.add(0x01abcdef, 1);
    hashes.add(0x00abcdef, 2);
    assert.equal(hashes.repeats(), false);
    hashes.commit();
    hashes.add(0x02abcdef, 1);
    assert.equal(hashes.repeats(), false);
    hashes.add(0x01abcdef, 1);
    assert.equal(hashes.repeats(), true, 'one committed before');
    hashes.rollBack();
    assert.equal(hashes.repeats(), false);
    hashes.addAll(Int32Array.from([5, 6, 7, 8, 5, 6]));
    assert.equal(hashes.repeats(), true, 'twice since the commit');
    hashes.rollBack();
    hashes.addId('point-1');
    hashes.addId('point-2');
    assert.equal(hashes.repeats(), false);
    hashes.addId('point-1');
    assert.equal(hashes.repeats(), true);
  });

  it('remembers every commit, each sorted in when a later response needs it', () => {
    const hashes = new RecordHashes();
    const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `record-${from + i}`);
    for (const [from, to] of [
      [0, 30_000],
      [30_000, 40_000],
      [40_000, 70_000],
    ] as const) {
      for (const id of ids(from, to)) hashes.addId(id);
      assert.equal(hashes.repeats(), false, `records ${from} to ${to}`);
      hashes.commit();
    }
    for (const id of ['record-5', 'record-35000', 'record-69999']) {
      hashes.addId('record-new');
      hashes.addId(id);
      assert.equal(hashes.repeats(), true, id);
      hashes.rollBack();
    }
  });
});
