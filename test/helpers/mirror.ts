import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ExportClient } from '../../src/client/export-client.js';
import { TABLE_DEFINITIONS, TABLE_NAMES, type Cell, type TableName } from '../../src/client/tables.js';
import { CsvWriter, csvField } from '../../src/client/writers/csv-writer.js';
import type { ExportSession } from '../../src/contract/schemas.js';
import type { Mirror } from '../../src/sync/mirror.js';
import pg from 'pg';
import { postgresBackend, tempDir, type TestDatabase } from './backends.js';

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
  const client = new ExportClient({ baseUrl: url, token, perSecond: 10_000, perMinute: 1_000_000 });
  return csvTablesOf(client.exportRange({ ...range, timeAxis: 'createdAt' }));
}

/** The tables the CSV writer writes for these sessions, each sorted. */
export async function csvTablesOf(sessions: AsyncIterable<ExportSession> | Iterable<ExportSession>): Promise<Tables> {
  const dir = tempDir('coachport-csv-');
  try {
    // Raw: the mirror keeps values exactly, so the comparison is with the exact cells.
    const writer = new CsvWriter(dir, null, { raw: true });
    for await (const session of sessions) writer.write(session);
    writer.commit();
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
            else if (type === 'boolean')
              cell = value === true || value === 1 ? true : value === false || value === 0 ? false : `unexpected ${String(value)}`;
            else if (type === 'timestamp') cell = value instanceof Date ? value.toISOString() : String(value);
            else if (type === 'integer') cell = Number(value);
            else cell = String(value);
            return csvField(cell, { raw: true });
          })
          .join(','),
      )
      .sort();
  }
  return out;
}

/** The mirror targets: a SQLite file always, a fresh PostgreSQL database when one is reachable. */
export interface Target {
  name: string;
  url: string;
  /** A fingerprint of everything stored, which any write changes. */
  fingerprint(): Promise<string>;
  drop(): Promise<void>;
}

export async function sqliteTarget(): Promise<Target> {
  const dir = tempDir('coachport-mirror-');
  const file = path.join(dir, 'mirror.db');
  return {
    name: 'sqlite',
    url: file,
    async fingerprint() {
      const hash = createHash('sha256');
      for (const f of [file, `${file}-wal`]) if (fs.existsSync(f)) hash.update(fs.readFileSync(f));
      return hash.digest('hex');
    },
    drop: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

async function postgresTarget(database: TestDatabase): Promise<Target> {
  const url = (database.config as { url: string }).url;
  return {
    name: 'postgres',
    url,
    async fingerprint() {
      // Every inserted or updated row version carries the writing transaction's id.
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const parts: string[] = [];
        for (const table of [...TABLE_NAMES, 'coachport_sync_state', 'coachport_sync_documents']) {
          const rows = await client.query(`select count(*)::text as n, coalesce(max(xmin::text::bigint), 0)::text as x from "${table}"`);
          parts.push(`${table}:${rows.rows[0].n}:${rows.rows[0].x}`);
        }
        return parts.join(',');
      } finally {
        await client.end();
      }
    },
    drop: () => database.drop(),
  };
}

export async function mirrorTargets(): Promise<Array<{ name: string; make(): Promise<Target> }>> {
  const postgres = await postgresBackend();
  if (postgres.unavailable) {
    if (process.env.CI) throw new Error(`CI requires PostgreSQL: ${postgres.unavailable}`);
    process.stdout.write(`# skipping PostgreSQL mirror cases: ${postgres.unavailable}\n`);
    return [{ name: 'SQLite file', make: sqliteTarget }];
  }
  return [
    { name: 'SQLite file', make: sqliteTarget },
    { name: 'PostgreSQL database', make: async () => postgresTarget(await postgres.create()) },
  ];
}
