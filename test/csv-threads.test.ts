import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TABLE_NAMES, type TableName } from '../src/client/tables.js';
import type { CsvOptions } from '../src/client/writers/csv-text.js';
import { CsvWriter } from '../src/client/writers/csv-writer.js';
import { Random } from '../src/seed/random.js';
import { tempDir } from './helpers/backends.js';
import { documents, expected, otherForm, TEXT } from './helpers/csv-documents.js';
import { session } from './helpers/fixtures.js';

/**
 * `coachport export --format csv` on worker threads (src/client/writers/csv-threads.ts): responses
 * cut into batches where a search finds a document boundary, rows made on two threads and merged in
 * order. Batches here are a few hundred bytes, so that small responses are cut many times; the
 * files must be byte for byte what parsing every document on one thread gives, whether the cuts
 * held, were wrong (a document holding what looks like the next one), or were never found.
 */

let root: string;
before(() => {
  root = tempDir();
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

interface Read {
  files: Record<TableName, string>;
  documents: number;
  readHere: number;
}

/** Responses through the writer's threads, in chunks of random sizes, each committed like a window. */
async function throughThreads(name: string, bodies: Buffer[], random: Random, options: CsvOptions, most = 4096): Promise<Read> {
  const writer = new CsvWriter(path.join(root, name), null, options, { threads: 2, batchBytes: random.int(64, 600), mostBatchBytes: most });
  const reader = writer.response!;
  let documents = 0;
  try {
    for (const body of bodies) {
      for (let at = 0; at < body.length; ) {
        const size = random.chance(0.5) ? random.int(1, 64) : random.int(64, 4096);
        const pushed = reader.push(new Uint8Array(body.subarray(at, at + size)));
        if (pushed) await pushed;
        at += size;
      }
      documents += await reader.end();
      writer.commit();
    }
  } finally {
    writer.finish({ interrupted: false });
  }
  const files = Object.fromEntries(TABLE_NAMES.map((t) => [t, fs.readFileSync(writer.fileOf(t), 'utf8')])) as Record<TableName, string>;
  return { files, documents, readHere: reader.readHereCount };
}

describe('CSV rows on threads', () => {
  it('writes what parsing gives, for random documents in any form, cut at many boundaries, across responses', async () => {
    for (let round = 0; round < 30; round++) {
      const random = new Random(round + 500);
      const windows = [documents(random, random.int(1, 25)), documents(random, random.int(0, 10))];
      // Half the rounds with this server's ids (the test's random ids may hold quotes, where no cut is looked for).
      if (round % 2 === 0)
        for (const doc of windows.flat()) if (!/^[\w-]+$/.test(doc._id)) doc._id = `session-r${round}-${random.int(0, 1e9)}`;
      const options = { raw: round % 4 === 0 };
      const all = windows.flat();
      const canonical = await throughThreads(
        `c${round}`,
        windows.map((docs) => Buffer.from(JSON.stringify(docs))),
        random,
        options,
      );
      assert.deepEqual(canonical.files, expected(all, options), `round ${round}, JSON.stringify's form`);
      assert.equal(canonical.documents, all.length);
      if (round % 2 === 0) assert.equal(canonical.readHere, 0, `round ${round}: every cut held`);

      // Another server's form: no boundary as this server writes it, so the response is read on the main thread.
      const other = await throughThreads(
        `o${round}`,
        windows.map((docs) => Buffer.from(otherForm(docs, random))),
        random,
        options,
        random.int(100, 2000),
      );
      assert.deepEqual(other.files, expected(all, options), `round ${round}, another form`);
      assert.equal(other.documents, all.length);
    }
  });

  it('reads on from a wrong cut on the main thread: a document holding what looks like the next one', async () => {
    const random = new Random(9);
    const decoys = [session({ coachNotes: 'inside' }), session({ coachNotes: 'inside too' })];
    const docs = documents(random, 40).map((doc, index) => (index % 7 === 3 ? { ...doc, related: decoys } : doc));
    const body = Buffer.from(JSON.stringify(docs));
    assert.ok(body.includes('},{"_id":"session-'), 'the decoys hold the boundary searched for');
    const read = await throughThreads('decoy', [body], random, {}, 1 << 20);
    assert.deepEqual(read.files, expected(docs, {}));
    assert.equal(read.documents, docs.length);
    assert.ok(read.readHere > 0, 'the wrong cut was found and the rest read on the main thread');

    // Malformed after the wrong cut: refused by the main thread's reading, as without threads.
    const at = body.lastIndexOf('"coachNotes":');
    const broken = Buffer.concat([body.subarray(0, at), Buffer.from('"coachNotes"x'), body.subarray(at + '"coachNotes":'.length)]);
    await assert.rejects(throughThreads('decoy-broken', [broken], random, {}, 1 << 20), SyntaxError);
  });

  it('refuses a malformed, truncated or invalid response as parsing does, and forgets a response discarded part way', async () => {
    const random = new Random(11);
    const docs = documents(random, 30);
    const body = Buffer.from(JSON.stringify(docs));
    const broken: Array<[string, Buffer]> = [
      ['truncated', body.subarray(0, body.length - 5)],
      ['unclosed', body.subarray(0, body.length - 1)],
      ['garbage after', Buffer.concat([body, Buffer.from(' x')])],
      ['a control character', Buffer.from(body.toString().replace('session-', 'sess\u0001ion-'))],
      ['not UTF-8', Buffer.concat([body.subarray(0, 900), Buffer.from([0xff]), body.subarray(901)])],
      ['not an array', Buffer.from('{"sessions": []}')],
    ];
    for (const [name, bad] of broken) {
      let array = false;
      try {
        array = Array.isArray(JSON.parse(TEXT.decode(bad)));
      } catch {
        array = false;
      }
      assert.ok(!array, `${name} is not a JSON array`);
      await assert.rejects(throughThreads(`bad-${name}`, [bad], random, {}), (error: Error) => {
        assert.ok(error instanceof SyntaxError || (error as { code?: string }).code === 'ERR_ENCODING_INVALID_ENCODED_DATA', name);
        return true;
      });
    }

    // A response cut short and discarded, then fetched again whole: written once.
    const writer = new CsvWriter(path.join(root, 'discard'), null, {}, { threads: 2, batchBytes: 200 });
    const reader = writer.response!;
    try {
      await reader.push(body.subarray(0, Math.floor(body.length / 2)));
      writer.discard();
      await reader.push(body);
      assert.equal(await reader.end(), docs.length);
      writer.commit();
    } finally {
      writer.finish({ interrupted: false });
    }
    for (const t of TABLE_NAMES) assert.equal(fs.readFileSync(writer.fileOf(t), 'utf8'), expected(docs, {})[t], t);
  });
});
