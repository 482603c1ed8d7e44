import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { RawJsonArraySplitter } from '../src/client/json-array-bytes.js';
import { forEachRow, TABLE_NAMES, TABLES, type TableName } from '../src/client/tables.js';
import { csvRow, type CsvOptions } from '../src/client/writers/csv-text.js';
import { CsvWriter } from '../src/client/writers/csv-writer.js';
import type { ExportSession } from '../src/contract/schemas.js';
import { Random } from '../src/seed/random.js';
import { tempDir } from './helpers/backends.js';
import { point, session, todo } from './helpers/fixtures.js';

/**
 * `coachport export --format csv` writes most documents from their bytes (src/client/writers/
 * csv-bytes.ts) and parses the rest: over random documents, in JSON.stringify's form and in others,
 * split into random chunks, the files must be byte for byte what parsing every document gives.
 */

const TEXT = new TextDecoder('utf-8', { fatal: true });

/** Text that exercises CSV and JSON alike: quotes, commas, line breaks, escapes, formulas, non-ASCII. */
function text(random: Random): string {
  const pieces = ['a', 'Zz', ' ', ',', '"', '\\', '/', '\n', '\r', '\t', '\b', '\f', '\u0001', '\u001f', '=', '+', '-', '@', "'"];
  const wide = ['é', '한', '😀', '\u2028', '\ud800', '\u007f', 'ÿ'];
  const length = random.int(0, 12);
  let out = '';
  for (let i = 0; i < length; i++) out += random.chance(0.2) ? random.pick(wide) : random.pick(pieces);
  return out;
}

const maybe = (random: Random) => (random.chance(0.3) ? null : text(random));

function documents(random: Random, count: number): ExportSession[] {
  const shared = point(['shared-a', 'shared-b'], { coachNotes: text(random) });
  return Array.from({ length: count }, () => {
    const s = session({ coachNotes: maybe(random), agentNotes: maybe(random), agentName: text(random) });
    if (random.chance(0.3)) s._id = text(random) || 'x';
    s.sharedWithAgent = random.chance(0.5);
    s.activityLog = Array.from({ length: random.int(0, 4) }, () => ({
      userId: 'coach-1',
      userEmail: random.chance(0.5) ? null : `${text(random)}@example.test`,
      actionType: 'updated',
      descriptions: Array.from({ length: random.int(0, 3) }, () => text(random)),
      timestamp: '2024-01-10T09:00:00.000Z',
      ipAddress: random.chance(0.5) ? null : '10.0.0.1',
    }));
    s.coachingPoints = Array.from({ length: random.int(0, 3) }, () =>
      point([s._id, 'other'], { subject: maybe(random), coachNotes: maybe(random), score: maybe(random) }),
    );
    // A point listed under several sessions (and twice under one) is written once.
    if (random.chance(0.4)) s.coachingPoints.push(shared);
    if (random.chance(0.1)) s.coachingPoints.push(shared);
    s.todos = Array.from({ length: random.int(0, 2) }, () => todo([s._id], { title: text(random), link: maybe(random) }));
    return s;
  });
}

/** JSON as another server might write it: whitespace, \u and \/ escapes, keys in another order, fields the tables do not hold. */
function otherForm(value: unknown, random: Random): string {
  const space = () => (random.chance(0.2) ? random.pick([' ', '\n', '\t', '\r\n ']) : '');
  if (typeof value === 'string') {
    let out = JSON.stringify(value);
    if (random.chance(0.3)) out = out.replaceAll('/', '\\/');
    if (random.chance(0.3)) out = out.replaceAll('a', '\\u0061');
    return out;
  }
  if (Array.isArray(value)) return `[${space()}${value.map((v) => otherForm(v, random) + space()).join(`,${space()}`)}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    if (random.chance(0.3)) entries.reverse();
    if (random.chance(0.2)) entries.splice(random.int(0, entries.length), 0, ['extra', { nested: [1, 2.5e3, true, null, 'x'] }]);
    return `{${space()}${entries.map(([k, v]) => `${JSON.stringify(k)}${space()}:${space()}${otherForm(v, random)}`).join(`,${space()}`)}}`;
  }
  return JSON.stringify(value);
}

/**
 * What parsing every document writes: the rows of `forEachRow`, as `csvRow` makes them, read back
 * as the file holds them (a lone surrogate is written as U+FFFD, as any text to a UTF-8 file).
 */
function expected(docs: unknown[], options: CsvOptions): Record<TableName, string> {
  const out = Object.fromEntries(TABLE_NAMES.map((t) => [t, csvRow(TABLES[t], options)])) as Record<TableName, string>;
  const seen = { points: new Set<string>(), todos: new Set<string>() };
  for (const doc of docs) forEachRow(doc as ExportSession, seen, (table, row) => (out[table] += csvRow(row, options)));
  for (const t of TABLE_NAMES) out[t] = Buffer.from(out[t], 'utf8').toString('utf8');
  return out;
}

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
