import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { createOrganization } from '../src/accounts/organizations.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { generateSeed } from '../src/seed/generate.js';
import { openStore } from '../src/store/open.js';
import { connect } from '../src/store/sqlite/connect.js';
import { DocumentPages, SQLITE_PAGE_BYTES } from '../src/store/sqlite/document-pages.js';
import { sqliteStoredDocuments, threadedStoredDocuments } from '../src/store/sqlite/export-reader.js';
import { EXPORT_PAGES_AHEAD, ExportWorkers } from '../src/store/sqlite/export-workers.js';
import { ReadConnections } from '../src/store/sqlite/read-connections.js';
import type { Store } from '../src/store/store.js';
import { sqliteBackend, tempDir, type TestDatabase } from './helpers/backends.js';
import { pollUntil } from './helpers/deadline.js';
import { bytesOf } from './helpers/documents.js';

const NOW = Date.parse('2025-04-01T00:00:00.000Z');
const WINDOW = { axis: 'createdAt' as const, fromMs: NOW - 60 * 86_400_000, toMs: NOW + 86_400_000 };

/**
 * SQLite exports are read in worker threads (src/store/sqlite/export-workers.ts): each export's
 * pages cross to the main thread as transferred memory, at most EXPORT_PAGES_AHEAD ahead of what
 * the export has taken, inside one read transaction that ends when the export stops. One thread is
 * the default where there is a second core; SQLITE_EXPORT_THREADS=0 reads on the event loop.
 */
describe('SQLite export threads', () => {
  let database: TestDatabase;
  let store: Store;
  let orgId: string;
  let file: string;
  let workers: ExportWorkers;
  let reads: ReadConnections;

  before(async () => {
    database = await sqliteBackend.create();
    // Without day pages (export-day-pages.test.ts): the pages here are the ones read document by document.
    store = await openStore({ ...(database.config as { kind: 'sqlite'; file: string }), exportThreads: 1, exportDayPages: false });
    const org = await createOrganization(store, { name: 'Threads', adminEmail: 'threads@example.test' }, NOW);
    // About 8 MB of documents: the first small page, then pages near 1 MB (SQLITE_PAGE_BYTES), more
    // of them than EXPORT_PAGES_AHEAD, so an export's thread cannot have read it all ahead.
    await store.applyImport(org.orgId, generateSeed({ sessions: 1600, days: 10, seed: 3, endMs: NOW, nowMs: NOW }), NOW);
    orgId = org.orgId;
    file = (database.config as { file: string }).file;
    workers = new ExportWorkers(1);
    reads = new ReadConnections(file);
  });
  after(async () => {
    reads.close();
    await workers.close();
    await store.close();
    await database.drop();
  });

  it('reads no more than EXPORT_PAGES_AHEAD pages ahead of what the export has taken', async () => {
    const channel = workers.open(file, orgId, WINDOW);
    try {
      for (let i = 0; i < EXPORT_PAGES_AHEAD; i++) assert.equal((await channel.receive()).kind, 'page', `page ${i + 1}`);
      const next = channel.receive();
      const waited = await Promise.race([next.then(() => 'page'), sleep(400).then(() => 'nothing')]);
      assert.equal(waited, 'nothing', 'the thread waits for credit before reading another page');
      channel.more();
      assert.equal((await next).kind, 'page', 'one page more once one was taken');
    } finally {
      await channel.close();
    }
  });

  it('sends the bytes the event loop reads, with twelve exports at once taking turns in one thread', async () => {
    const alone = await bytesOf(sqliteStoredDocuments(reads, orgId, WINDOW));
    assert.ok((await bytesOf(store.exportDocuments(orgId, WINDOW))).equals(alone), 'the store with SQLITE_EXPORT_THREADS=1');
    assert.ok(alone.length > (EXPORT_PAGES_AHEAD + 2) * SQLITE_PAGE_BYTES, `${alone.length} bytes`);
    const together = await Promise.all(Array.from({ length: 12 }, () => bytesOf(threadedStoredDocuments(workers, file, orgId, WINDOW))));
    for (const bytes of together) assert.ok(bytes.equals(alone));
  });

  it('reads through a memory map given back every eight pages, and without one when told, the same bytes', async () => {
    // What this process has of the file mapped (Linux's smaps): the RSS the export's map adds.
    const mappedBytes = () => {
      let total = 0;
      let ours = false;
      for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
        if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) ours = line.endsWith(` ${file}`);
        else if (ours && line.startsWith('Rss:')) total += Number(/(\d+) kB/.exec(line)![1]) * 1024;
      }
      return total;
    };
    const read = (mapped: boolean) => {
      // Pages of 64 KB: eight of them are half a megabyte, a sixteenth of the export.
      const pages = new DocumentPages(connect(file, true), orgId, WINDOW, () => 64 * 1024, mapped);
      const chunks: Buffer[] = [];
      let peak = 0;
      try {
        for (let page = pages.read(); page !== null; page = pages.read()) {
          chunks.push(page.docs);
          peak = Math.max(peak, mappedBytes());
        }
      } finally {
        pages.close();
      }
      return { bytes: Buffer.concat(chunks), peak };
    };
    // Only pages in the database file are read through the map, not those still in the WAL.
    const writer = connect(file, false);
    try {
      assert.equal((writer.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>)[0]?.busy, 0);
    } finally {
      writer.close();
    }
    const mapped = read(true);
    const unmapped = read(false);
    assert.ok(mapped.bytes.length > 6 * 1024 * 1024, `${mapped.bytes.length} bytes`);
    assert.ok(mapped.bytes.equals(unmapped.bytes));
    assert.ok((await bytesOf(sqliteStoredDocuments(reads, orgId, WINDOW, false))).equals(mapped.bytes));
    assert.ok(mapped.peak > 0, 'read through a map');
    // Eight pages of 64 KB and the b-tree pages around them, in the kernel's 64 KB blocks: about
    // 0.9 MB at most; 1.7 MB when the first remap did nothing, the whole file when none does.
    assert.ok(mapped.peak < 1.25 * 1024 * 1024, `at most ${mapped.peak} bytes mapped at once, not the export's ${mapped.bytes.length}`);
    assert.equal(unmapped.peak, 0, 'no map when told not to');
    assert.equal(mappedBytes(), 0, 'the map is gone with the connection');
  });

  it("shares a page's worth of reads among the exports a thread is reading, and one export alone gets it all", async () => {
    const secondPage = async (channel: ReturnType<ExportWorkers['open']>) => {
      for (let i = 0; i < 2; i++) {
        const message = await channel.receive();
        assert.equal(message.kind, 'page');
        if (i === 1 && message.kind === 'page') return message.data.byteLength;
      }
      return 0;
    };
    const alone = workers.open(file, orgId, WINDOW);
    const aloneBytes = await secondPage(alone);
    await alone.close();
    // Two exports reading before a third opens (each held at its credit, far from its end), so
    // that every page the third reads is shared three ways, however the thread's turns fall.
    const others = [0, 1].map(() => workers.open(file, orgId, WINDOW));
    await Promise.all(others.map((channel) => channel.receive()));
    const third = workers.open(file, orgId, WINDOW);
    const sharedBytes = await secondPage(third);
    await Promise.all([...others, third].map((channel) => channel.close()));
    assert.ok(aloneBytes > SQLITE_PAGE_BYTES / 2, `alone: ${aloneBytes} bytes`);
    assert.ok(sharedBytes < SQLITE_PAGE_BYTES / 2, `one of three: ${sharedBytes} bytes`);
  });

  it('reads at a lower priority than the event loop on Linux, whose priorities are per thread', async (t) => {
    if (process.platform !== 'linux') return t.skip('thread priorities are per thread only on Linux');
    const channel = workers.open(file, orgId, WINDOW);
    await channel.receive();
    // Field 19 of /proc/.../stat is the nice value; the fields before it follow the name's ')'.
    const nice = (statFile: string) => Number(fs.readFileSync(statFile, 'utf8').split(') ')[1]!.split(' ')[16]);
    const tasks = fs.readdirSync('/proc/self/task').map((tid) => ({
      name: fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(),
      nice: nice(`/proc/self/task/${tid}/stat`),
    }));
    await channel.close();
    assert.equal(nice('/proc/self/stat'), 0, 'the main thread keeps its priority');
    assert.ok(
      tasks.some((task) => task.name === 'WorkerThread' && task.nice === 5),
      `an export thread at niceness 5 among ${JSON.stringify(tasks)}`,
    );
  });

  it('has ended its read transaction once an export stopped early has returned', async () => {
    const chunks = store.exportDocuments(orgId, WINDOW)[Symbol.asyncIterator]();
    assert.equal((await chunks.next()).done, false);
    // A commit after the export's snapshot: a TRUNCATE checkpoint now waits for that reader.
    await createOrganization(store, { name: 'Later', adminEmail: 'later@example.test' }, NOW);
    const checkpoint = () => {
      const connection = new BetterSqlite3(file);
      try {
        connection.pragma('busy_timeout = 300');
        return (connection.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>)[0]!.busy;
      } finally {
        connection.close();
      }
    };
    assert.equal(checkpoint(), 1, 'the export holds its snapshot while it runs');
    await chunks.return!(undefined);
    // Busy at once also while the store's background checkpointer holds the checkpoint lock: tried
    // again, it passes unless a reader is left on the old snapshot.
    await pollUntil(() => checkpoint() === 0, 'no reader holding an old snapshot once the export has returned', 5_000);
  });

  it("fails an export with SQLite's error and code when its connection cannot open", async () => {
    const missing = path.join(tempDir(), 'missing.db');
    await assert.rejects(bytesOf(threadedStoredDocuments(workers, missing, orgId, WINDOW)), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'SQLITE_CANTOPEN');
      return true;
    });
  });

  it('fails an export still reading when its threads stop, instead of leaving it waiting', async () => {
    const own = new ExportWorkers(1);
    const channel = own.open(file, orgId, WINDOW);
    for (let i = 0; i < EXPORT_PAGES_AHEAD; i++) await channel.receive();
    await own.close();
    await assert.rejects(channel.receive(), /stopped/);
    await channel.close();
    assert.throws(() => own.open(file, orgId, WINDOW), /closed/);
  });
});

describe('SQLITE_EXPORT_MMAP', () => {
  it('is off unless set to 1 or true, and refuses anything else', () => {
    const database = (env: Record<string, string>) => loadConfig({ DATABASE_URL: 'x.db', ...env }, '/tmp').database;
    assert.equal((database({}) as { exportMmap?: boolean }).exportMmap, false);
    for (const on of ['1', 'true', ' TRUE '])
      assert.equal((database({ SQLITE_EXPORT_MMAP: on }) as { exportMmap?: boolean }).exportMmap, true);
    for (const off of ['0', 'false']) assert.equal((database({ SQLITE_EXPORT_MMAP: off }) as { exportMmap?: boolean }).exportMmap, false);
    for (const bad of ['yes', '2', 'off']) assert.throws(() => database({ SQLITE_EXPORT_MMAP: bad }), ConfigError, bad);
  });
});

describe('SQLITE_EXPORT_THREADS', () => {
  it('is 1 unless set (0, the event loop, on one core), takes a whole number up to 64, and refuses anything else', () => {
    const database = (env: Record<string, string>) => loadConfig({ DATABASE_URL: 'x.db', ...env }, '/tmp').database;
    assert.equal((database({}) as { exportThreads?: number }).exportThreads, os.availableParallelism() > 1 ? 1 : 0);
    assert.equal((database({ SQLITE_EXPORT_THREADS: '0' }) as { exportThreads?: number }).exportThreads, 0);
    assert.equal((database({ SQLITE_EXPORT_THREADS: '2' }) as { exportThreads?: number }).exportThreads, 2);
    for (const bad of ['-1', '1.5', 'two', '65']) assert.throws(() => database({ SQLITE_EXPORT_THREADS: bad }), ConfigError, bad);
  });
});
