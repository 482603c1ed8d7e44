import type { Cell } from '../tables.js';

/**
 * CSV text for the tables of `../tables.ts`, free of Node's file system, so the web console builds
 * the same files in the browser as `coachport export --format csv` writes to disk.
 */

/** What a spreadsheet reads as the start of a formula (or, tab and CR, hides in front of one). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * A text cell as it is safe to open in a spreadsheet (SPEC §12, CSV for people): one that begins
 * with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so a person's note such
 * as `=HYPERLINK(…)` is shown, never run. Numbers, booleans and null are values, not text: left
 * alone (a negative number stays a number). A string that merely looks numeric ("-3") is text.
 */
export function forPeople(value: Cell): Cell {
  return typeof value === 'string' && FORMULA_START.test(value) ? `'${value}` : value;
}

/**
 * Whether a text beginning with the character `first` may read back from a file written for people
 * as another text: one beginning with a formula's character is written after a `'`, so `'=x` in a
 * file is `=x` as often as `'=x` itself (see csv-writer.ts's `firstColumn`).
 */
export const readsBackAmbiguously = (first: number): boolean => first === 0x27 || startsFormula(first);

/** = + - @ tab CR: FORMULA_START as char codes, for the first character of a text. */
const startsFormula = (first: number): boolean =>
  first === 61 || first === 43 || first === 45 || first === 64 || first === 9 || first === 13;

/** How cells are written: for people (formula-safe, the default) or raw, exactly, for loading into a database. */
export interface CsvOptions {
  raw?: boolean;
}

/**
 * RFC 4180 fields: quoted when they hold a comma, quote, CR or LF, and an empty string is written
 * quoted ("") while null is written as nothing, so `COPY … WITH (FORMAT csv)` loads null as NULL
 * and "" as an empty string. Records end in CRLF.
 */
export function csvField(value: Cell, options: CsvOptions = {}): string {
  if (value === null) return '';
  // A number or boolean never needs quotes and is never neutralised.
  if (typeof value !== 'string') return String(value);
  return textField(value, options.raw === true);
}

/**
 * `csvField` for text, for millions of cells: the first character is looked at by its code, not by
 * a regular expression; the search for characters that need quotes stays one (measured faster on
 * export text than a loop over the characters in JavaScript, its engine scanning natively).
 */
function textField(value: string, raw: boolean): string {
  if (value.length === 0) return '""';
  const first = value.charCodeAt(0);
  const formula = !raw && startsFormula(first);
  const text = formula ? `'${value}` : value;
  return NEEDS_QUOTES.test(value) ? `"${text.replaceAll('"', '""')}"` : text;
}

const NEEDS_QUOTES = /[",\r\n]/;

/** One record, its CRLF included. */
export function csvRow(values: readonly Cell[], options: CsvOptions = {}): string {
  const raw = options.raw === true;
  let row = '';
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (i > 0) row += ',';
    if (typeof value === 'string') row += textField(value, raw);
    else if (value !== null) row += String(value);
  }
  return `${row}\r\n`;
}
