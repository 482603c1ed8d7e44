import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createOrganization } from '../src/accounts/organizations.js';
import { RawJsonArraySplitter } from '../src/client/json-array-bytes.js';
import { generateSeed } from '../src/seed/generate.js';
import { openStore } from '../src/store/open.js';
import pg from 'pg';
import { POSTGRES_ADMIN_URL, postgresBackend } from '../test/helpers/backends.js';
import { settleDisk } from './settle.js';

/**
 * `coachport import FILE` as a person runs it (its own process, the default heap), on the seeded
 * export of IMPORT_BENCH_SESSIONS sessions (100,000 unless set) in both file forms, into a fresh
 * SQLite database, and into a fresh PostgreSQL one when reachable: sessions per second from start
 * to exit, and the process's peak RSS (VmHWM, read from /proc while it runs; Linux only).
 */
const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/coachport.js');
export const IMPORT_RATE_TARGET = 4000;
export const IMPORT_RSS_TARGET_MB = 300;
const END = Date.parse('2025-03-31T12:00:00.000Z');
const log = (message: string) => process.stderr.write(`bench: ${message}\n`);

export interface ImportRun {
  sessions: number;
  seconds: number;
  sessionsPerSecond: number;
  /** Null where /proc is not there to read it. */
  rssPeakMB: number | null;
  fileMB: number;
}

export interface ImportBenchResult {
  sessions: number;
  ndjson: ImportRun;
  json: ImportRun;
  postgresNdjson: ImportRun | string;
}

function sessionsToBench(): number {
  const raw = process.env.IMPORT_BENCH_SESSIONS;
  if (raw === undefined) return 100_000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`IMPORT_BENCH_SESSIONS must be a positive whole number, got ${raw}`);
  return n;
}

/** The seeded sessions' export documents, exactly as the export writes them, as a JSON array and as NDJSON. */
async function writeExportFiles(dir: string, sessions: number): Promise<{ json: string; ndjson: string }> {
  // No day pages: their build after this export would write the window's bytes once more while the imports are timed.
  const store = await openStore({ kind: 'sqlite', file: path.join(dir, 'source.db'), exportDayPages: false });
  const json = path.join(dir, 'export.json');
  const ndjson = path.join(dir, 'export.ndjson');
  try {
    const now = Date.now();
    const org = await createOrganization(store, { name: 'Import source', adminEmail: 'source@example.test' }, now);
    await store.applyImport(org.orgId, generateSeed({ sessions, days: 90, seed: 27, endMs: END, nowMs: now }), now);
    const arrayOut = fs.openSync(json, 'w');
    const linesOut = fs.openSync(ndjson, 'w');
    const splitter = new RawJsonArraySplitter();
    const lines = (elements: ReturnType<RawJsonArraySplitter['push']>) => {
      for (const element of elements) fs.writeSync(linesOut, Buffer.concat([element.bytes, Buffer.from('\n')]));
    };
    fs.writeSync(arrayOut, '[');
    lines(splitter.push(Buffer.from('[')));
    // The chunks of the export join with commas of their own: concatenated, they are the array's inside.
    for await (const chunk of store.exportDocuments(org.orgId, { axis: 'createdAt', fromMs: 0, toMs: END + 86_400_000 })) {
      const data = typeof chunk.data === 'string' ? Buffer.from(chunk.data) : chunk.data;
      fs.writeSync(arrayOut, data);
      lines(splitter.push(data));
    }
    fs.writeSync(arrayOut, ']\n');
    lines(splitter.push(Buffer.from(']')));
    splitter.end();
    // On disk before the imports are timed: else the first import shares the machine with the
    // kernel's writeback of these 940 MB.
    fs.fsyncSync(arrayOut);
    fs.fsyncSync(linesOut);
    fs.closeSync(arrayOut);
    fs.closeSync(linesOut);
  } finally {
    await store.close();
    // Gone before the imports are timed: the kernel would still be writing back the 1.2 GB it
    // wrote (dirty pages are written out after 30 s) while the first import runs.
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(path.join(dir, `source.db${suffix}`), { force: true });
  }
  return { json, ndjson };
}

/** The peak RSS of a running process so far, from /proc; null where there is none. */
function peakRssMB(pid: number): number | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

function coachport(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ seconds: number; rssPeakMB: number | null }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let peak: number | null = null;
    const poll = setInterval(() => {
      const now = peakRssMB(child.pid!);
      if (now !== null) peak = Math.max(peak ?? 0, now);
    }, 50);
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(poll);
      if (code === 0) resolve({ seconds: (performance.now() - started) / 1000, rssPeakMB: peak });
      else reject(new Error(`coachport ${args[0]} exited ${code}: ${stderr}`));
    });
  });
}

/** One import of `file` into a fresh organization of a fresh database (SQLite in `dir`, or DATABASE_URL). */
async function importOnce(file: string, sessions: number, databaseUrl?: string): Promise<ImportRun> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'coachport-import-'));
  try {
    // The default heap, as a person runs it: no NODE_OPTIONS of the bench's own.
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
    if (databaseUrl) env.DATABASE_URL = databaseUrl;
    else delete env.DATABASE_URL;
    await coachport(['org', 'create', '--name', 'Import bench', '--admin-email', 'import@example.test', '--json'], cwd, env);
    const { seconds, rssPeakMB } = await coachport(['import', file, '--json'], cwd, env);
    return {
      sessions,
      seconds: Number(seconds.toFixed(2)),
      sessionsPerSecond: Math.round(sessions / seconds),
      rssPeakMB: rssPeakMB === null ? null : Math.round(rssPeakMB),
      fileMB: Number((fs.statSync(file).size / 1_048_576).toFixed(1)),
    };
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
}

/**
 * What the bench's earlier parts left to the machine, done before an import is timed: PostgreSQL's
 * checkpoint of their writes (the sync's 100,000 sessions), which it would otherwise spread over
 * the next minutes, and the kernel's writeback of every file written.
 */
async function settleMachine(): Promise<void> {
  const postgres = await postgresBackend();
  if (!postgres.unavailable) {
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await client.connect();
    try {
      await client.query('checkpoint');
    } finally {
      await client.end();
    }
  }
  settleDisk();
}

export async function importBench(): Promise<ImportBenchResult> {
  const sessions = sessionsToBench();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coachport-import-bench-'));
  try {
    log(`import: seeding and exporting ${sessions} sessions`);
    const files = await writeExportFiles(dir, sessions);
    await settleMachine();
    log('import: NDJSON into SQLite');
    const ndjson = await importOnce(files.ndjson, sessions);
    log('import: JSON array into SQLite');
    const json = await importOnce(files.json, sessions);
    const postgres = await postgresBackend();
    let postgresNdjson: ImportRun | string = `skipped: ${postgres.unavailable}`;
    if (!postgres.unavailable) {
      log('import: NDJSON into PostgreSQL');
      const database = await postgres.create();
      try {
        postgresNdjson = await importOnce(files.ndjson, sessions, (database.config as { url: string }).url);
      } finally {
        await database.drop();
      }
    }
    return { sessions, ndjson, json, postgresNdjson };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The bench table's rows: each SQLite form against both targets; PostgreSQL printed. */
export function importRows(r: ImportBenchResult): Array<[string, string, string, string]> {
  const target = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const rows: Array<[string, string, string, string]> = [];
  for (const [form, run] of [
    ['NDJSON', r.ndjson],
    ['JSON array', r.json],
  ] as const) {
    rows.push([
      `coachport import, ${r.sessions} sessions, ${form} (${run.fileMB} MB) into SQLite`,
      `${run.sessionsPerSecond} sessions/s (${run.seconds} s)`,
      `≥ ${IMPORT_RATE_TARGET} sessions/s`,
      target(run.sessionsPerSecond >= IMPORT_RATE_TARGET),
    ]);
    rows.push([
      `  peak RSS of that import`,
      run.rssPeakMB === null ? 'not measured (no /proc)' : `${run.rssPeakMB} MB`,
      `< ${IMPORT_RSS_TARGET_MB} MB`,
      run.rssPeakMB === null ? '' : target(run.rssPeakMB < IMPORT_RSS_TARGET_MB),
    ]);
  }
  const pg = r.postgresNdjson;
  rows.push(
    typeof pg === 'string'
      ? ['coachport import into PostgreSQL', pg, '', '']
      : [
          `coachport import, ${r.sessions} sessions, NDJSON into PostgreSQL`,
          `${pg.sessionsPerSecond} sessions/s (${pg.seconds} s), RSS ${pg.rssPeakMB ?? '?'} MB`,
          '',
          '',
        ],
  );
  return rows;
}
