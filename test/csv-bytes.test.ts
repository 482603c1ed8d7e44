import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { RawJsonArraySplitter } from '../src/client/json-array-bytes.js';
import { TABLE_NAMES, type TableName } from '../src/client/tables.js';
import { csvRow, type CsvOptions } from '../src/client/writers/csv-text.js';
import { CsvWriter, firstColumn } from '../src/client/writers/csv-writer.js';
import { Random } from '../src/seed/random.js';
import { tempDir } from './helpers/backends.js';
import { documents, expected, otherForm, TEXT } from './helpers/csv-documents.js';
import { point, session, todo } from './helpers/fixtures.js';

/**
 * `coachport export --format csv` writes most documents from their bytes (src/client/writers/
 * csv-bytes.ts) and parses the rest: over random documents, in JSON.stringify's form and in others,
 * split into random chunks, the files must be byte for byte what parsing every document gives.
 */

/** The bytes through the splitter and the writer, as `coachport export` sends them, in chunks of random sizes. */
function written(dir: string, body: Buffer, random: Random, options: CsvOptions) {
  const writer = new CsvWriter(dir, null, options);
  const splitter = new RawJsonArraySplitter({
    check: false,
    writer: { leading: (bytes, at) => writer.writeLeading!(bytes, at), whole: (bytes) => writer.writeText(bytes) },
  });
  try {
    for (let at = 0; at < body.length; ) {
      const size = random.chance(0.5) ? random.int(1, 64) : random.int(64, 8192);
      splitter.push(new Uint8Array(body.subarray(at, at + size)));
      at += size;
    }
    splitter.end();
    writer.commit();
  } finally {
    writer.finish({ interrupted: false });
  }
  const files = Object.fromEntries(TABLE_NAMES.map((t) => [t, fs.readFileSync(writer.fileOf(t), 'utf8')])) as Record<TableName, string>;
  return { files, fast: writer.fromBytes.fast, elements: splitter.written };
}

describe('CSV written from the bytes', () => {
  it('writes, for random documents in any JSON form and any chunking, the files parsing gives', () => {
    const root = tempDir();
    try {
      for (let round = 0; round < 60; round++) {
        const random = new Random(round + 1);
        const docs = documents(random, random.int(1, 12));
        const options = { raw: round % 3 === 0 };
        const canonical = Buffer.from(JSON.stringify(docs));
        const reference = expected(docs, options);
        const fromCanonical = written(path.join(root, `c${round}`), canonical, random, options);
        assert.deepEqual(fromCanonical.files, reference, `round ${round}, JSON.stringify's form`);
        // Every document in JSON.stringify's form takes the fast path (none is parsed).
        assert.equal(fromCanonical.fast, docs.length, `round ${round}: documents written from their bytes`);
        assert.equal(fromCanonical.elements, docs.length);

        const other = Buffer.from(otherForm(docs, random));
        assert.deepEqual(written(path.join(root, `o${round}`), other, random, options).files, reference, `round ${round}, another form`);
      }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('writes documents of unexpected shapes as parsing them does: missing columns, other types, nested values', () => {
    const root = tempDir();
    try {
      const base = session({ coachNotes: 'n' });
      base.coachingPoints = [point([base._id])];
      base.activityLog = [
        { userId: 'u', userEmail: null, actionType: 'a', descriptions: ['d'], timestamp: '2024-01-10T09:00:00.000Z', ipAddress: null },
      ];
      const variants: unknown[] = [
        { ...base, coachNotes: 12.5e1, agentNotes: { nested: ['x'] }, isDeleted: 'no' },
        { ...base, coachName: undefined },
        { ...base, activityLog: [{ ...base.activityLog[0], descriptions: [1, 'two', null] }] },
        { ...base, activityLog: [{ ...base.activityLog[0], descriptions: 'not a list' }] },
        { ...base, coachingPoints: [{ ...base.coachingPoints[0], _id: 7 }] },
        { ...base, coachingPoints: [{ ...base.coachingPoints[0], coachingFormIds: [base._id, 3] }] },
        { ...base, todos: [todo([base._id], { title: '\u0000=x' })] },
        { ...base, _id: ['an', 'array'] },
      ];
      variants.forEach((doc, index) => {
        const random = new Random(index + 100);
        const body = Buffer.from(JSON.stringify([doc, base]));
        const docs = JSON.parse(body.toString()) as unknown[];
        for (const raw of [false, true])
          assert.deepEqual(
            written(path.join(root, `${index}${raw}`), body, random, { raw }).files,
            expected(docs, { raw }),
            `variant ${index}`,
          );
      });
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('refuses what JSON.parse refuses, and otherwise writes what parsing gives, for damaged responses', () => {
    const root = tempDir();
    try {
      const random = new Random(7);
      const body = Buffer.from(JSON.stringify(documents(random, 3)));
      const damages: Array<(b: Buffer) => Buffer> = [
        (b) => b.subarray(0, random.int(1, b.length - 1)),
        (b) => {
          const c = Buffer.from(b);
          c[random.int(1, c.length - 2)] = random.pick([0x00, 0x0a, 0x22, 0x5c, 0x2c, 0x7d, 0x5d, 0xff, 0xc3, 0x41, 0x20]);
          return c;
        },
        (b) => {
          const at = random.int(1, b.length - 2);
          return Buffer.concat([b.subarray(0, at), Buffer.from(random.pick(['\\', '"', ',', '\\u12', '\\x', ' '])), b.subarray(at)]);
        },
      ];
      let refused = 0;
      for (let round = 0; round < 300; round++) {
        const damaged = random.pick(damages)(body);
        let docs: unknown[] | null = null;
        try {
          const parsed: unknown = JSON.parse(TEXT.decode(damaged));
          if (Array.isArray(parsed)) docs = parsed;
        } catch {
          docs = null;
        }
        const dir = path.join(root, String(round));
        let reference: Record<TableName, string> | null = null;
        try {
          reference = docs && expected(docs, {});
        } catch {
          // An element that is not a session: parsing it fails too.
        }
        if (reference === null) {
          assert.throws(() => written(dir, damaged, random, {}), `round ${round} is refused`);
          refused++;
        } else assert.deepEqual(written(dir, damaged, random, {}).files, reference, `round ${round}`);
        fs.rmSync(dir, { recursive: true, force: true });
      }
      assert.ok(refused > 100, `most damage is refused (${refused} of 300)`);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('the ids a CSV table holds, read back for --resume', () => {
  it('are its first column in any chunking, through quotes, line breaks and characters of any width', () => {
    const file = path.join(tempDir(), 'coaching_points.csv');
    const ids = ['plain', 'with,comma', 'with "quotes"', '=formula', '-1', 'é😀中', '', 'line\r\nbreak', '"'];
    const table = (raw: boolean) =>
      ids.reduce(
        (text, id, i) => text + csvRow([id, i % 2 === 0 ? 'x' : 'a "quoted", \r\n subject', null], { raw }),
        csvRow(['_id', 'subject', 'score'], { raw }),
      );
    for (const raw of [false, true]) {
      fs.writeFileSync(file, table(raw));
      for (const chunk of [1, 2, 3, 5, 7, 64, 4 << 20]) {
        assert.deepEqual(firstColumn(file, { raw }, chunk), ids, `raw ${raw}, chunks of ${chunk} bytes`);
      }
    }
  });
});
