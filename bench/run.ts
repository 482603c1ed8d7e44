/**
 * `npm run bench`: builds its datasets, starts a real server on a loopback port, and measures the
 * export against its floor (JSON.stringify of the same documents) and a peer (Drizzle), the server's
 * memory while streaming 100,000 sessions, and write throughput. Prints one table and writes
 * bench/results.json. A script, not a test: the figures are reported, not asserted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { createOrganization } from '../src/accounts/organizations.js';
import { issueToken } from '../src/accounts/tokens.js';
import { newId } from '../src/ids.js';
import { generateSeed } from '../src/seed/generate.js';
import { openStore } from '../src/store/open.js';
import type { DatabaseConfig } from '../src/config.js';
import { postgresBackend } from '../test/helpers/backends.js';
import { freePort } from '../test/helpers/processes.js';
import { drizzlePeerExport } from './drizzle-peer.js';
import { printStatsTable, statsBench, type StatsBenchResult } from './stats.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(HERE, '../../bin/coachport.js');
const OUT = path.resolve(HERE, '../../bench/results.json');
const END = Date.parse('2025-03-31T12:00:00.000Z');
const WINDOW = { startDate: '2025-01-01', endDate: '2025-03-31', timeAxis: 'createdAt' };
const FROM = Date.parse('2025-01-01T00:00:00.000Z');
const TO = Date.parse('2025-03-31T23:59:59.999Z');
const RUNS = 5;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const mb = (bytes: number) => bytes / 1_048_576;
const log = (message: string) => process.stderr.write(`bench: ${message}\n`);

interface Dataset {
  database: DatabaseConfig;
  small: { orgId: string; token: string; coachToken: string; agentId: string };
  large: { orgId: string; token: string } | null;
  seedRate: number;
}

async function seedDataset(database: DatabaseConfig, withLarge: boolean): Promise<Dataset> {
  const store = await openStore(database);
  try {
    const now = Date.now();
    const small = await createOrganization(store, { name: 'Bench 20k', adminEmail: 'bench@example.test' }, now);
    const started = performance.now();
    await store.applyImport(small.orgId, generateSeed({ sessions: 20_000, days: 90, seed: 20, endMs: END }), now);
    const seedRate = 20_000 / ((performance.now() - started) / 1000);
    const coachId = newId();
    await store.createUser(small.orgId, { id: coachId, email: 'coach@example.test', name: 'Bench Coach', role: 'coach' }, now);
    const agentId = newId();
    await store.createUser(small.orgId, { id: agentId, email: 'agent@example.test', name: 'Bench Agent', role: 'agent' }, now);
    const coachToken = (await issueToken(store, { orgId: small.orgId, userId: coachId }, null, now)).secret;
    let large: Dataset['large'] = null;
    if (withLarge) {
      const org = await createOrganization(store, { name: 'Bench 100k', adminEmail: 'big@example.test' }, now);
      await store.applyImport(org.orgId, generateSeed({ sessions: 100_000, days: 90, seed: 100, endMs: END }), now);
      large = { orgId: org.orgId, token: org.token };
    }
    return { database, small: { orgId: small.orgId, token: small.token, coachToken, agentId }, large, seedRate };
  } finally {
    await store.close();
  }
}

interface Server {
  url: string;
  child: ChildProcess;
  rssKb(): number;
  stop(): Promise<void>;
}

async function startServer(database: DatabaseConfig): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DATABASE_URL: database.kind === 'sqlite' ? database.file : database.url,
      RATE_LIMIT_EXPORT_PER_SECOND: '100000',
      RATE_LIMIT_EXPORT_PER_MINUTE: '1000000',
      RATE_LIMIT_API_PER_SECOND: '1000000',
      RATE_LIMIT_API_PER_MINUTE: '100000000',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      if (i > 200) throw new Error('the server did not start');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    url,
    child,
    rssKb: () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0),
    stop: () => new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

async function timedExport(url: string, token: string) {
  const started = performance.now();
  const response = await fetch(`${url}/api/v1/coaching-sessions`, {
    method: 'POST',
    headers: { apiToken: token, 'content-type': 'application/json' },
    body: JSON.stringify(WINDOW),
  });
  if (response.status !== 200) throw new Error(`export answered ${response.status}: ${await response.text()}`);
  let ttfb = 0;
  let bytes = 0;
  const chunks: Uint8Array[] = [];
  for await (const chunk of response.body!) {
    if (bytes === 0) ttfb = performance.now() - started;
    bytes += chunk.byteLength;
    chunks.push(chunk);
  }
  const seconds = (performance.now() - started) / 1000;
  return { seconds, ttfbMs: ttfb, bytes, body: () => Buffer.concat(chunks).toString('utf8') };
}

async function exportThroughput(server: Server, token: string) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await timedExport(server.url, token));
  const last = runs.at(-1)!;
  const docs = JSON.parse(last.body()) as unknown[];
  const floorRuns = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    const text = JSON.stringify(docs);
    floorRuns.push({ seconds: (performance.now() - started) / 1000, bytes: Buffer.byteLength(text) });
  }
  const exportMBps = median(runs.map((r) => mb(r.bytes) / r.seconds));
  const floorMBps = median(floorRuns.map((r) => mb(r.bytes) / r.seconds));
  return {
    sessions: docs.length,
    megabytes: Number(mb(last.bytes).toFixed(1)),
    wallSeconds: Number(median(runs.map((r) => r.seconds)).toFixed(3)),
    ttfbMs: Number(median(runs.map((r) => r.ttfbMs)).toFixed(1)),
    exportMBps: Number(exportMBps.toFixed(1)),
    floorMBps: Number(floorMBps.toFixed(1)),
    exportToFloor: Number((exportMBps / floorMBps).toFixed(2)),
  };
}

async function memoryWhileStreaming(server: Server, token: string) {
  await new Promise((resolve) => setTimeout(resolve, 500));
  const before = server.rssKb();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, server.rssKb())), 10);
  const run = await timedExport(server.url, token);
  clearInterval(sampler);
  return { sessions: 100_000, megabytes: Number(mb(run.bytes).toFixed(1)), ttfbMs: Number(run.ttfbMs.toFixed(1)), rssBeforeMB: Math.round(before / 1024), rssPeakMB: Math.round(peak / 1024) };
}

async function writes(server: Server, dataset: Dataset) {
  const headers = { apiToken: dataset.small.coachToken, 'content-type': 'application/json' };
  const session = await fetch(`${server.url}/api/v1/coaching/sessions`, { method: 'POST', headers, body: JSON.stringify({ coachingFormName: 'Bench', agentId: dataset.small.agentId }) });
  const sessionId = ((await session.json()) as { _id: string })._id;
  const load = async (title: string, pathName: string, body: unknown) => {
    const result = await autocannon({ url: `${server.url}${pathName}`, method: 'POST', headers, body: JSON.stringify(body), connections: 10, duration: 5 });
    const ok = result['2xx'];
    return { title, connections: 10, requestsPerSecond: Math.round(ok / result.duration), p50Ms: result.latency.p50, p99Ms: result.latency.p99, non2xx: result.non2xx };
  };
  return [
    await load('create session', '/api/v1/coaching/sessions', { coachingFormName: 'Load', agentId: dataset.small.agentId, meetingFormat: 'live' }),
    await load('add coaching point', '/api/v1/coaching/points', { coachingFormIds: [sessionId], type: 'strength', classification: 'qa', subject: 'Load' }),
  ];
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coachport-bench-'));
  const results: Record<string, unknown> = { machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version }, at: new Date().toISOString() };
  try {
    log('seeding SQLite: 20,000 and 100,000 sessions over 90 days');
    const sqlite = await seedDataset({ kind: 'sqlite', file: path.join(dir, 'bench.db') }, true);
    results.seedSessionsPerSecond = Math.round(sqlite.seedRate);
    const server = await startServer(sqlite.database);
    try {
      log('SQLite: export throughput and floor');
      results.sqliteExport = await exportThroughput(server, sqlite.small.token);
      log('SQLite: memory while streaming 100,000 sessions');
      results.sqliteMemory = await memoryWhileStreaming(server, sqlite.large!.token);
      log('SQLite: writes under load');
      results.sqliteWrites = await writes(server, sqlite);
    } finally {
      await server.stop();
    }

    const postgres = await postgresBackend();
    if (postgres.unavailable) {
      results.postgres = `skipped: ${postgres.unavailable}`;
    } else {
      const database = await postgres.create();
      try {
        log('seeding PostgreSQL: 20,000 sessions');
        const pgData = await seedDataset(database.config, false);
        const pgServer = await startServer(database.config);
        try {
          log('PostgreSQL: export throughput and floor');
          results.postgresExport = await exportThroughput(pgServer, pgData.small.token);
        } finally {
          await pgServer.stop();
        }
        log('PostgreSQL: the Drizzle peer');
        const peerRuns = [];
        for (let i = 0; i < 3; i++) {
          const started = performance.now();
          const text = await drizzlePeerExport((database.config as { url: string }).url, pgData.small.orgId, FROM, TO);
          peerRuns.push(mb(Buffer.byteLength(text)) / ((performance.now() - started) / 1000));
        }
        const peerMBps = median(peerRuns);
        const ours = (results.postgresExport as { exportMBps: number }).exportMBps;
        results.postgresPeer = { peerMBps: Number(peerMBps.toFixed(1)), oursToPeer: Number((ours / peerMBps).toFixed(2)) };
      } finally {
        await database.drop();
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  log('stats: every grouping, 90 days of 100,000 sessions, SQLite and PostgreSQL');
  results.stats = await statsBench(100_000);
  fs.writeFileSync(OUT, `${JSON.stringify(results, null, 2)}\n`);
  printTable(results);
  printStatsTable(results.stats as StatsBenchResult);
}

function printTable(r: Record<string, any>) {
  const rows: Array<[string, string, string, string]> = [];
  const target = (ok: boolean) => (ok ? 'met' : 'NOT met');
  rows.push(['seed into SQLite', `${r.seedSessionsPerSecond} sessions/s`, '≥ 20,000 sessions/s', target(r.seedSessionsPerSecond >= 20_000)]);
  const s = r.sqliteExport;
  rows.push(['SQLite export, 20k sessions', `${s.exportMBps} MB/s (${s.megabytes} MB in ${s.wallSeconds} s, TTFB ${s.ttfbMs} ms)`, '', '']);
  rows.push(['JSON.stringify floor', `${s.floorMBps} MB/s`, '', '']);
  rows.push(['SQLite export / floor', `${s.exportToFloor}`, '≥ 0.7', target(s.exportToFloor >= 0.7)]);
  const m = r.sqliteMemory;
  rows.push(['RSS streaming 100k sessions', `${m.rssPeakMB} MB peak (${m.rssBeforeMB} MB before, ${m.megabytes} MB sent)`, '< 256 MB', target(m.rssPeakMB < 256)]);
  rows.push(['TTFB, 90 days of 100k sessions', `${m.ttfbMs} ms`, '< 100 ms', target(m.ttfbMs < 100)]);
  for (const w of r.sqliteWrites) {
    rows.push([`${w.title} (SQLite, c=${w.connections})`, `${w.requestsPerSecond} req/s, p50 ${w.p50Ms} ms, p99 ${w.p99Ms} ms`, w.title === 'create session' ? '≥ 1,000 req/s, p99 < 50 ms' : '', w.title === 'create session' ? target(w.requestsPerSecond >= 1000 && w.p99Ms < 50) : '']);
  }
  if (r.postgresExport) {
    const p = r.postgresExport;
    rows.push(['PostgreSQL export, 20k sessions', `${p.exportMBps} MB/s (${p.megabytes} MB in ${p.wallSeconds} s, TTFB ${p.ttfbMs} ms)`, '', '']);
    rows.push(['Drizzle peer on PostgreSQL', `${r.postgresPeer.peerMBps} MB/s`, '', '']);
    rows.push(['PostgreSQL export / peer', `${r.postgresPeer.oursToPeer}`, '≥ 2', target(r.postgresPeer.oursToPeer >= 2)]);
  } else {
    rows.push(['PostgreSQL', String(r.postgres), '', '']);
  }
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length), ['measure', 'figure', 'target', ''][i]!.length));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(['measure', 'figure', 'target', '']));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(row));
}

await main();
