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
  const text = options.raw || !FORMULA_START.test(value) ? value : `'${value}`;
  return text === '' || NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const NEEDS_QUOTES = /[",\r\n]/;

export function csvRow(values: readonly Cell[], options: CsvOptions = {}): string {
  let row = '';
  for (let i = 0; i < values.length; i++) row += i === 0 ? csvField(values[i]!, options) : `,${csvField(values[i]!, options)}`;
  return `${row}\r\n`;
}
