import type { Cell } from '../client/tables.js';

/** The characters PostgreSQL's COPY text format gives a meaning to: escaped, everything else is data. */
const SPECIAL = /[\\\n\r\t]/;
const SPECIAL_ALL = /[\\\n\r\t]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function field(value: Cell): string {
  if (value === null) return '\\N';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'number') return String(value);
  return SPECIAL.test(value) ? value.replace(SPECIAL_ALL, (c) => ESCAPES[c]!) : value;
}

/**
 * Rows in COPY's text format (tab-separated, `\N` for null, backslash escapes), in chunks of about
 * `chunkChars` characters: the same values a bound parameter carries, read by the server's input
 * functions as they would read a parameter, without a parameter's or an array's quoting.
 */
export function* copyText(rows: readonly Cell[][], chunkChars = 256 * 1024): Generator<string> {
  let chunk = '';
  for (const row of rows) {
    let line = field(row[0] as Cell);
    for (let c = 1; c < row.length; c++) line += `\t${field(row[c] as Cell)}`;
    chunk += `${line}\n`;
    if (chunk.length >= chunkChars) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}
