import { type Cell } from '../tables.js';

/**
 * CSV text for the tables of `../tables.ts`, free of Node's file system, so the web console builds
 * the same files in the browser as `coachport export --format csv` writes to disk.
 */

/**
 * RFC 4180 fields: quoted when they hold a comma, quote, CR or LF, and an empty string is written
 * quoted ("") while null is written as nothing, so `COPY … WITH (FORMAT csv)` loads null as NULL
 * and "" as an empty string. Records end in CRLF.
 */
export function csvField(value: Cell): string {
  if (value === null) return '';
  const text = String(value);
  return text === '' || /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const csvRow = (values: readonly Cell[]) => `${values.map(csvField).join(',')}\r\n`;
