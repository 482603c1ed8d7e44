/**
 * Stats timings (SPEC §6): GET /api/v1/coaching/stats for a 90-day window over an organization
 * whose sessions all fall in those 90 days (the worst case for a 90-day window), once per
 * grouping, on SQLite and on PostgreSQL. Each request goes through the whole app in process
 * (auth, limits, validation, the one aggregate statement, the answer's serialization), without
 * the socket. Prints a table and returns the figures; `node dist/bench/stats.js [sessions]` runs it
 * alone (default 100,000), and bench/run.ts calls `statsBench`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { pino } from 'pino';
import { createOrganization } from '../src/accounts/organizations.js';
import { buildApp } from '../src/app.js';
import { loadConfig, type DatabaseConfig } from '../src/config.js';
import { STATS_GROUP_BYS, type StatsGroupBy } from '../src/contract/stats-schemas.js';
import { MemoryRateLimiter } from '../src/ratelimit/memory.js';
import { generateSeed } from '../src/seed/generate.js';
import { openStore } from '../src/store/open.js';
import { postgresBackend } from '../test/helpers/backends.js';

const END = Date.parse('2025-03-31T12:00:00.000Z');
const WINDOW = { from: '2025-01-01', to: '2025-03-31' };
const RUNS = 5;
const TARGET_MS = 300;
const TARGET_SESSIONS = 100_000;
const UNLIMITED = { perSecond: 1_000_000, perMinute: 100_000_000 };

const log = (message: string) => process.stderr.write(`bench stats: ${message}\n`);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export interface StatsTiming {
  groupBy: StatsGroupBy;
  rows: number;
  medianMs: number;
  minMs: number;
}

export interface StatsBenchResult {
  sessions: number;
  countedSessions: number;
  window: typeof WINDOW;
  sqlite: StatsTiming[];
  postgres: StatsTiming[] | string;
}

async function timeGroupings(database: DatabaseConfig, sessions: number): Promise<{ timings: StatsTiming[]; counted: number }> {
  const store = await openStore(database);
  const limiter = new MemoryRateLimiter({ now: () => Date.now() });
  try {
    const org = await createOrganization(store, { name: 'Stats bench', adminEmail: 'stats@example.test' }, Date.now());
    log(`seeding ${sessions.toLocaleString('en')} sessions into ${database.kind}`);
    await store.applyImport(org.orgId, generateSeed({ sessions, days: 90, seed: 6, endMs: END }), Date.now());
    if (database.kind === 'postgres') {
      // What autovacuum does within a minute of a bulk load: planner statistics and the visibility map.
      const { Kysely, PostgresDialect } = await import('kysely');
      const pg = (await import('pg')).default;
      const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 1 }) }) });
      await sql`vacuum analyze`.execute(db);
      await db.destroy();
    }
    const config = { ...loadConfig({}, process.cwd()), database, limits: { export: UNLIMITED, api: UNLIMITED, authFailures: UNLIMITED } };
    const app = await buildApp({ config, store, limiter, clock: { now: () => Date.now() }, logger: pino({ level: 'warn' }) });
    const timings: StatsTiming[] = [];
    let counted = 0;
    try {
      for (const groupBy of STATS_GROUP_BYS) {
        const url = `/api/v1/coaching/stats?from=${WINDOW.from}&to=${WINDOW.to}&groupBy=${groupBy}`;
        const runs: number[] = [];
        let rows = 0;
        for (let i = 0; i <= RUNS; i++) {
          const started = performance.now();
          const reply = await app.inject({ method: 'GET', url, headers: { apitoken: org.token } });
          const elapsed = performance.now() - started;
          if (reply.statusCode !== 200) throw new Error(`stats answered ${reply.statusCode}: ${reply.body}`);
          const body = reply.json() as { rows: unknown[]; totals: { sessions: number } };
          rows = body.rows.length;
          counted = body.totals.sessions;
          if (i > 0) runs.push(elapsed); // the first run warms caches and is left out
        }
        timings.push({ groupBy, rows, medianMs: Number(median(runs).toFixed(1)), minMs: Number(Math.min(...runs).toFixed(1)) });
        log(`${database.kind} ${groupBy}: ${median(runs).toFixed(1)} ms`);
      }
    } finally {
      await app.close();
    }
    return { timings, counted };
  } finally {
    await limiter.close();
    await store.close();
  }
}

export async function statsBench(sessions = 100_000): Promise<StatsBenchResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coachport-stats-bench-'));
  try {
    const sqlite = await timeGroupings({ kind: 'sqlite', file: path.join(dir, 'stats.db') }, sessions);
    const backend = await postgresBackend();
    let postgres: StatsTiming[] | string = `skipped: ${backend.unavailable}`;
    if (!backend.unavailable) {
      const database = await backend.create();
      try {
        postgres = (await timeGroupings(database.config, sessions)).timings;
      } finally {
        await database.drop();
      }
    }
    return { sessions, countedSessions: sqlite.counted, window: WINDOW, sqlite: sqlite.timings, postgres };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function printStatsTable(result: StatsBenchResult): void {
  const pg = (groupBy: StatsGroupBy) => (typeof result.postgres === 'string' ? result.postgres : result.postgres.find((t) => t.groupBy === groupBy)!);
  const cell = (t: StatsTiming | string) => (typeof t === 'string' ? t : `${t.medianMs} ms (min ${t.minMs})`);
  // The target is set for 100,000 sessions; a smaller run only shows the trend.
  const judged = result.sessions >= TARGET_SESSIONS;
  const met = (t: StatsTiming | string) => (typeof t === 'string' || !judged ? '' : t.medianMs < TARGET_MS ? 'met' : 'NOT met');
  const rows = result.sqlite.map((t) => [
    `stats groupBy=${t.groupBy} (${t.rows} rows)`,
    cell(t),
    met(t),
    cell(pg(t.groupBy)),
    met(pg(t.groupBy)),
  ]);
  const target = `< ${TARGET_MS} ms${judged ? '' : ' at 100k'}`;
  const header = [`${result.countedSessions.toLocaleString('en')} of ${result.sessions.toLocaleString('en')} sessions, ${result.window.from}..${result.window.to}`, 'SQLite', target, 'PostgreSQL', target];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(row));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const sessions = Number(process.argv[2] ?? 100_000);
  if (!Number.isInteger(sessions) || sessions <= 0) throw new Error(`sessions must be a positive whole number, got ${process.argv[2]}`);
  const result = await statsBench(sessions);
  printStatsTable(result);
}
