import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TABLE_NAMES, TABLES, type TableName } from '../src/client/tables.js';
import { BatchRowMaker } from '../src/client/writers/csv-batch.js';
import { CsvBytesTranscoder, type RecordTable } from '../src/client/writers/csv-bytes.js';
import { csvRow } from '../src/client/writers/csv-text.js';
import { Random } from '../src/seed/random.js';
import { documents, expected } from './helpers/csv-documents.js';
import { point, session } from './helpers/fixtures.js';

/**
 * csv-rows.wasm writes most documents' CSV rows for `CsvBytesTranscoder`; its JavaScript path
 * (tested against parsing in csv-bytes.test.ts) writes the rest. For the same documents, with it and
 * without it, the rows and the records reported must be byte for byte the same.
 */

interface Written {
  tables: Record<TableName, string>;
  /** Per table, in the order reported (the order between the two tables is no one's concern). */
  records: Record<RecordTable, string[]>;
  wasm: number;
}

type Mode = 'whole' | 'batch';

/** The documents through a transcoder, each whole or all in one loaded batch, with points and to-dos kept once. */
function transcoded(docs: string[], wasm: boolean, mode: Mode, options: { raw?: boolean } = {}): Written {
  const records: Written['records'] = { coaching_points: [], todos: [] };
  const seen = { points: new Set<string>(), todos: new Set<string>() };
  const onRecord = (table: RecordTable, id: string, ...at: number[]) => records[table].push(`${id} ${at.join(' ')}`);
  const transcoder = new CsvBytesTranscoder(
    { seen, onRecord, onLean: () => assert.fail('not lean') },
    () => assert.fail('rows wait for take'),
    {
      ...options,
      wasm,
      flushAt: Number.POSITIVE_INFINITY,
    },
  );
  if (mode === 'whole') for (const doc of docs) assert.ok(transcoder.writeDocument(Buffer.from(doc)), doc.slice(0, 200));
  else {
    const body = Buffer.from(docs.join(','));
    for (let at = 0, d = 0; d < docs.length; d++) {
      const end = transcoder.writeLeading(body, at);
      assert.ok(end > at, `document ${d} written`);
      at = end + 1;
    }
  }
  const taken = transcoder.take();
  const tables = Object.fromEntries(TABLE_NAMES.map((t) => [t, taken[t].toString('utf8')])) as Record<TableName, string>;
  return { tables, records, wasm: transcoder.wasmWritten };
}

function assertSame(docs: string[], label: string, options: { raw?: boolean } = {}): Written[] {
  return (['whole', 'batch'] as const).map((mode) => {
    const withWasm = transcoded(docs, true, mode, options);
    const without = transcoded(docs, false, mode, options);
    assert.equal(without.wasm, 0);
    assert.deepEqual(withWasm.tables, without.tables, `${label}, ${mode}`);
    assert.deepEqual(withWasm.records, without.records, `${label}, ${mode}: records`);
    return withWasm;
  });
}

describe('CSV rows in WebAssembly', () => {
  it('writes, for random documents in JSON.stringify’s form, the rows and records of the JavaScript path', () => {
    let written = 0;
    let total = 0;
    for (let round = 0; round < 80; round++) {
      const random = new Random(round + 7);
      const escapes = round % 4 === 0;
      const docs = documents(random, random.int(1, 16), escapes).map((doc) => JSON.stringify(doc));
      const [whole, batch] = assertSame(docs, `round ${round}`, { raw: round % 3 === 0 });
      // Only documents holding a \u escape (JSON.stringify's for control characters and lone surrogates) are left to JavaScript.
      if (!escapes) {
        assert.equal(whole!.wasm, docs.length, `round ${round}: every document written in WebAssembly`);
        assert.equal(batch!.wasm, docs.length, `round ${round}: every document of the batch written in WebAssembly`);
      }
      written += whole!.wasm;
      total += docs.length;
    }
    assert.ok(written > total / 2, `${written} of ${total} documents in WebAssembly`);
  });

  it('makes its regions larger for a document whose rows outgrow them', () => {
    const s = session();
    // Link rows repeat the point's id: 40 of a 100 KB id are 4 MB, past a region's first megabyte.
    const long = point(Array.from({ length: 40 }, (_, i) => `s${i}`));
    long._id = 'p'.repeat(100_000);
    s.coachingPoints = [long, point([s._id])];
    s.activityLog = Array.from({ length: 3000 }, () => ({
      userId: 'coach-1',
      userEmail: 'coach@example.test',
      actionType: 'updated',
      descriptions: ['"quoted", with a comma'],
      timestamp: '2024-01-10T09:00:00.000Z',
      ipAddress: '10.0.0.1',
    }));
    const docs = [JSON.stringify(s), JSON.stringify(session())];
    for (const result of assertSame(docs, 'a large document')) assert.equal(result.wasm, 2);
  });

  it('leaves to JavaScript what it does not write: whitespace, numbers, escapes it does not undo', () => {
    const random = new Random(99);
    const [doc] = documents(random, 1, false);
    const canonical = JSON.stringify(doc);
    const declined = [
      JSON.stringify(doc, null, 1),
      JSON.stringify({ ...doc, coachNotes: 12.5 }),
      canonical.replace('{"_id":"', '{"_id":"\\u0041'),
      canonical.replace('{"_id":"', '{"_id":"\\/'),
    ];
    for (const text of declined)
      for (const result of assertSame([text], text.slice(0, 80))) assert.equal(result.wasm, 0, text.slice(0, 300));
  });

  it('learns another key order from the documents the JavaScript path reads', () => {
    const random = new Random(5);
    const docs = documents(random, 6, false).map((doc) => {
      const { _id, ...rest } = doc;
      return JSON.stringify({ _id, ...Object.fromEntries(Object.entries(rest).reverse()) });
    });
    const [whole, batch] = assertSame(docs, 'keys in another order');
    // The first is read in JavaScript, which learns the order; csv-rows.wasm is then told it.
    assert.ok(whole!.wasm >= docs.length - 1, `${whole!.wasm} of ${docs.length} in WebAssembly`);
    assert.equal(batch!.wasm, docs.length);
    // And back: JSON.stringify's order again.
    const again = documents(random, 4, false).map((doc) => JSON.stringify(doc));
    assert.equal(assertSame(again, 'JSON.stringify’s order again')[1]!.wasm, again.length);
  });

  it('writes a batch in part and then stops being tried (a run of documents it declines): the rows parsing gives', () => {
    const random = new Random(11);
    const written = documents(random, 3, false);
    // A column missing: both paths decline it, and the batch parses it.
    const declined = documents(random, 40, false).map(({ coachName: _, ...rest }) => rest);
    const docs = [...written, ...declined];
    const made = new BatchRowMaker({}).make({
      generation: 0,
      seq: 0,
      bytes: Buffer.from(JSON.stringify(docs).slice(1, -1)),
      last: true,
      spare: [],
      lean: false,
    });
    assert.ok('tables' in made, 'the batch is made');
    // A batch writes every point and to-do; the writer drops those written before. Headers aside, the rows are parsing's.
    const rows = expected(docs, {});
    for (const table of ['sessions', 'activity_log'] as const)
      assert.equal(Buffer.from(made.tables[table]).toString('utf8'), rows[table].slice(csvRow(TABLES[table]).length), table);
  });
});
