/**
 * Part of `npm run bench`, or alone: `npm run bench:sync [-- SESSIONS]`: the change feed's throughput (sessions/s following cursors
 * from the beginning) and `coachport sync` into a fresh PostgreSQL database: a full sync of
 * SESSIONS (default 100,000) and an incremental run after 100 edits. Targets: full sync < 60 s,
 * incremental < 1 s. Printed, not asserted. Against a server without the feed it measures the
 * export fallback instead, and says so.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createOrganization } from '../src/accounts/organizations.js';
import { generateSeed } from '../src/seed/generate.js';
import { openStore } from '../src/store/open.js';
import { Mirror } from '../src/sync/mirror.js';
import { syncOnce, type SyncOptions } from '../src/sync/sync.js';
import { postgresBackend } from '../test/helpers/backends.js';
import { startServer } from './server.js';

const END = Date.parse('2025-03-31T12:00:00.000Z');
const UNLIMITED = { perSecond: 1_000_000, perMinute: 100_000_000, feedPerSecond: 1_000_000, feedPerMinute: 100_000_000 };
const log = (message: string) => process.stderr.write(`bench:sync: ${message}\n`);

/** Follows the feed from the beginning with the largest pages; null when the server has none. */
async function feedThroughput(url: string, token: string) {
  const started = performance.now();
  let cursor: string | null = null;
  let sessions = 0;
  let pages = 0;
  for (;;) {
    const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const response = await fetch(`${url}/api/v1/coaching-sessions/changes?limit=1000${query}`, { headers: { apiToken: token } });
    if (response.status === 404) return null;
    if (response.status !== 200) throw new Error(`the feed answered ${response.status}: ${await response.text()}`);
    const page = (await response.json()) as { sessions: unknown[]; cursor: string; hasMore: boolean };
    sessions += page.sessions.length;
    pages++;
    cursor = page.cursor;
    if (!page.hasMore) break;
  }
  const seconds = (performance.now() - started) / 1000;
  return { sessions, pages, seconds: Number(seconds.toFixed(2)), sessionsPerSecond: Math.round(sessions / seconds) };
}

export async function syncBench(sessions: number) {
  const postgres = await postgresBackend();
  if (postgres.unavailable) return { skipped: postgres.unavailable };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coachport-bench-sync-'));
  const file = path.join(dir, 'server.db');
  const target = await postgres.create();
  try {
    log(`seeding ${sessions.toLocaleString('en')} sessions`);
    const store = await openStore({ kind: 'sqlite', file });
    const org = await createOrganization(store, { name: 'Sync bench', adminEmail: 'sync@example.test' }, Date.now());
    await store.applyImport(org.orgId, generateSeed({ sessions, days: 365, seed: 42, endMs: END, nowMs: Date.now() }), Date.now());
    await store.close();
    const server = await startServer({ kind: 'sqlite', file });
    const mirror = await Mirror.open((target.config as { url: string }).url);
    try {
      log('following the change feed');
      const feed = await feedThroughput(server.url, org.token);
      const options: SyncOptions = {
        url: server.url,
        token: org.token,
        from: '2024-01-01',
        lookbackDays: 30,
        pageSize: 1000,
        now: () => END,
        client: UNLIMITED,
      };
      log('full sync into PostgreSQL');
      let started = performance.now();
      const full = await syncOnce(mirror, options);
      const fullSeconds = (performance.now() - started) / 1000;

      log('100 edits, then an incremental sync');
      // Sessions created in the last weeks, so that the export fallback (when there is no feed) sees
      // the edits within its lookback too.
      const recent = (row: Record<string, unknown>) =>
        new Date(String(row.createdAt instanceof Date ? row.createdAt.toISOString() : row.createdAt)).getTime() > END - 20 * 86_400_000;
      const ids = (await mirror.rows('sessions'))
        .filter((row) => !row.isDeleted && recent(row))
        .slice(0, 100)
        .map((row) => String(row._id));
      for (const id of ids) {
        const reply = await fetch(`${server.url}/api/v1/coaching/sessions/${id}`, {
          method: 'PATCH',
          headers: { apiToken: org.token, 'content-type': 'application/json' },
          body: JSON.stringify({ coachNotes: `edited ${Date.now()}` }),
        });
        if (!reply.ok) throw new Error(`editing ${id} answered ${reply.status}: ${await reply.text()}`);
      }
      started = performance.now();
      const incremental = await syncOnce(mirror, options);
      const incrementalSeconds = (performance.now() - started) / 1000;
      return {
        sessions,
        mode: full.mode,
        feed: feed ?? 'absent (404): the sync used the export fallback',
        full: {
          seconds: Number(fullSeconds.toFixed(2)),
          sessionsPerSecond: Math.round(full.written / fullSeconds),
          pages: full.pages,
          written: full.written,
        },
        incremental: {
          seconds: Number(incrementalSeconds.toFixed(3)),
          written: incremental.written,
          received: incremental.sessions,
          pages: incremental.pages,
        },
      };
    } finally {
      await mirror.close();
      await server.stop();
    }
  } finally {
    await target.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const sessions = Number(process.argv[2] ?? 100_000);
  const result = await syncBench(sessions);
  console.log(JSON.stringify(result, null, 2));
  if ('full' in result && result.full && typeof result.incremental === 'object') {
    console.log(
      `| full sync of ${sessions.toLocaleString('en')} sessions into PostgreSQL (${result.mode}) | ` +
        `${result.full.seconds} s | target < 60 s (at 100,000) |`,
    );
    console.log(`| incremental sync after 100 edits | ${result.incremental.seconds} s | target < 1 s |`);
  }
}
