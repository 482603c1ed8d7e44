import { forEachRow, TABLE_NAMES, TABLES, type TableName } from '../../src/client/tables.js';
import { csvRow, type CsvOptions } from '../../src/client/writers/csv-text.js';
import type { ExportSession } from '../../src/contract/schemas.js';
import type { Random } from '../../src/seed/random.js';
import { point, session, todo } from './fixtures.js';

/** Random export documents and what parsing them writes as CSV: for the tests of the CSV writer's fast paths. */

export const TEXT = new TextDecoder('utf-8', { fatal: true });

/** Text that exercises CSV and JSON alike: quotes, commas, line breaks, escapes, formulas, non-ASCII. */
function someText(random: Random, unicodeEscapes: boolean): string {
  const pieces = ['a', 'Zz', ' ', ',', '"', '\\', '/', '\n', '\r', '\t', '\b', '\f', '=', '+', '-', '@', "'"];
  const wide = ['é', '한', '😀', '\u2028', '\u007f', 'ÿ'];
  // What JSON.stringify writes as \u escapes.
  if (unicodeEscapes) pieces.push('\u0001', '\u001f');
  if (unicodeEscapes) wide.push('\ud800');
  const length = random.int(0, 12);
  let out = '';
  for (let i = 0; i < length; i++) out += random.chance(0.2) ? random.pick(wide) : random.pick(pieces);
  return out;
}

/** Random documents; without `unicodeEscapes`, none whose JSON holds a `\u` escape. */
export function documents(random: Random, count: number, unicodeEscapes = true): ExportSession[] {
  const text = (r: Random) => someText(r, unicodeEscapes);
  const maybe = (r: Random) => (r.chance(0.3) ? null : text(r));
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
export function otherForm(value: unknown, random: Random): string {
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
export function expected(docs: unknown[], options: CsvOptions): Record<TableName, string> {
  const out = Object.fromEntries(TABLE_NAMES.map((t) => [t, csvRow(TABLES[t], options)])) as Record<TableName, string>;
  const seen = { points: new Set<string>(), todos: new Set<string>() };
  for (const doc of docs) forEachRow(doc as ExportSession, seen, (table, row) => (out[table] += csvRow(row, options)));
  for (const t of TABLE_NAMES) out[t] = Buffer.from(out[t], 'utf8').toString('utf8');
  return out;
}
