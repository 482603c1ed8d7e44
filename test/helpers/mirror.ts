import fs from 'node:fs';
import path from 'node:path';
import { ExportClient } from '../../src/client/export-client.js';
import { TABLE_DEFINITIONS, TABLE_NAMES, type Cell, type TableName } from '../../src/client/tables.js';
import { CsvWriter, csvField } from '../../src/client/writers/csv-writer.js';
import type { Mirror } from '../../src/sync/mirror.js';
import { tempDir } from './backends.js';

/** The records of a CSV file after its header, split where a CRLF is outside quotes. */
export function csvRecords(text: string): string[] {
  const records: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') quoted = !quoted;
    else if (!quoted && text[i] === '\r' && text[i + 1] === '\n') {
      records.push(text.slice(start, i));
      start = i + 2;
      i++;
    }
  }
  return records.slice(1);
}

export type Tables = Record<TableName, string[]>;

/**
 * What `coachport export --format csv` writes for every session created in the range: each
 * table's records as text, sorted, so two tables compare as sets of rows.
 */
export async function exportedTables(url: string, token: string, range = { from: '2023-01-01', to: '2026-12-31' }): Promise<Tables> {
  const dir = tempDir('coachport-csv-');
  try {
    const writer = new CsvWriter(dir, null);
    const client = new ExportClient({ baseUrl: url, token, perSecond: 10_000, perMinute: 1_000_000 });
    for await (const completed of client.exportWindows({ ...range, timeAxis: 'createdAt' })) {
      for await (const session of completed.sessions()) writer.write(session);
      writer.commit();
    }
    writer.finish({ interrupted: false });
    return Object.fromEntries(
      TABLE_NAMES.map((table) => [table, csvRecords(fs.readFileSync(path.join(dir, `${table}.csv`), 'utf8')).sort()]),
    ) as Tables;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The mirror's tables written back as the CSV writer would write them, sorted the same way. */
export async function mirroredTables(mirror: Mirror): Promise<Tables> {
  const out = {} as Tables;
  for (const table of TABLE_NAMES) {
    const { columns } = TABLE_DEFINITIONS[table];
    const rows = await mirror.rows(table);
    out[table] = rows
      .map((row) =>
        columns
          .map(([name, type]) => {
            const value = row[name];
            let cell: Cell;
            if (value === null || value === undefined) cell = null;
            else if (type === 'boolean') cell = value === true || value === 1 ? true : value === false || value === 0 ? false : `unexpected ${String(value)}`;
            else if (type === 'timestamp') cell = value instanceof Date ? value.toISOString() : String(value);
            else if (type === 'integer') cell = Number(value);
            else cell = String(value);
            return csvField(cell);
          })
          .join(','),
      )
      .sort();
  }
  return out;
}
