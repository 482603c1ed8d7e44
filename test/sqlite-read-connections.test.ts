import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOrganization } from '../src/accounts/organizations.js';
import { generateSeed } from '../src/seed/generate.js';
import { openStore } from '../src/store/open.js';
import { connect } from '../src/store/sqlite/connect.js';
import { sqliteStoredDocuments, threadedStoredDocuments } from '../src/store/sqlite/export-reader.js';
import { ExportWorkers } from '../src/store/sqlite/export-workers.js';
import { ReadConnections } from '../src/store/sqlite/read-connections.js';
import type { Store } from '../src/store/store.js';
import { sqliteBackend, type TestDatabase } from './helpers/backends.js';
import { bytesOf } from './helpers/documents.js';

const NOW = Date.parse('2025-04-01T00:00:00.000Z');
const WINDOW = { axis: 'createdAt' as const, fromMs: NOW - 30 * 86_400_000, toMs: NOW + 86_400_000 };

/**
 * Exports on SQLite read through connections kept open between them (read-connections.ts), so an
 * export does not open a connection and parse the schema before its first byte. A kept connection
 * must hold no snapshot: the next export sees every write before it, and a checkpoint is not held back.
 */
describe('SQLite read connections kept between exports', () => {
  let database: TestDatabase;
  let store: Store;
  let orgId: string;
  let file: string;

  before(async () => {
    database = await sqliteBackend.create();
    store = await openStore({ ...(database.config as { kind: 'sqlite'; file: string }), exportThreads: 0, exportDayPages: false });
    orgId = (await createOrganization(store, { name: 'Kept', adminEmail: 'kept@example.test' }, NOW)).orgId;
    await store.applyImport(orgId, generateSeed({ sessions: 400, days: 10, seed: 5, endMs: NOW, nowMs: NOW }), NOW);
    file = (database.config as { file: string }).file;
  });
  after(async () => {
    await store.close();
    await database.drop();
  });

  it('hands the next export the connection the last one gave back, outside any transaction', async () => {
    const reads = new ReadConnections(file);
    try {
      const first = await bytesOf(sqliteStoredDocuments(reads, orgId, WINDOW));
      const kept = reads.take();
      assert.equal(kept.inTransaction, false, 'its snapshot ended with the export');
      reads.give(kept);
      assert.ok((await bytesOf(sqliteStoredDocuments(reads, orgId, WINDOW))).equals(first));
      const again = reads.take();
      assert.equal(again, kept, 'the second export took the kept connection and gave it back');
      reads.give(again);
    } finally {
      reads.close();
    }
  });

  it('shows the next export the writes made since the last, and holds back no checkpoint after one stopped early', async () => {
    const reads = new ReadConnections(file);
    try {
      const before = await bytesOf(sqliteStoredDocuments(reads, orgId, WINDOW));
      // An export stopped after its first page: its connection goes back with the transaction ended.
      for await (const _ of sqliteStoredDocuments(reads, orgId, WINDOW)) break;
      await store.applyImport(orgId, generateSeed({ sessions: 20, days: 10, seed: 6, endMs: NOW, nowMs: NOW }), NOW);
      const writer = connect(file, false);
      try {
        assert.equal(
          (writer.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>)[0]?.busy,
          0,
          'no kept connection holds a snapshot',
        );
      } finally {
        writer.close();
      }
      const afterWrites = await bytesOf(sqliteStoredDocuments(reads, orgId, WINDOW));
      const fresh = new ReadConnections(file);
      try {
        assert.ok(afterWrites.equals(await bytesOf(sqliteStoredDocuments(fresh, orgId, WINDOW))), 'what a new connection reads');
      } finally {
        fresh.close();
      }
      assert.ok(afterWrites.length > before.length, 'the sessions imported in between are in it');
    } finally {
      reads.close();
    }
  });

  it('keeps four at most, takes its map back from a mapped export, and closes what it keeps when closed', async () => {
    const reads = new ReadConnections(file);
    const taken = Array.from({ length: 6 }, () => reads.take());
    for (const db of taken) reads.give(db);
    assert.deepEqual(
      taken.map((db) => db.open),
      [true, true, true, true, false, false],
    );
    await bytesOf(sqliteStoredDocuments(reads, orgId, WINDOW, true));
    const afterMapped = reads.take();
    assert.equal(afterMapped.pragma('mmap_size', { simple: true }), 0, 'the next export reads by pread unless it maps itself');
    reads.give(afterMapped);
    const open = reads.take();
    open.exec('begin');
    open.prepare('select count(*) from session_documents').get();
    reads.give(open);
    assert.equal(open.open, false, 'a connection given back inside a transaction is closed, not kept');
    reads.close();
    assert.ok(
      taken.every((db) => !db.open),
      'closed with the pool',
    );
    const late = connect(file, true);
    reads.give(late);
    assert.equal(late.open, false, 'given back after the close: closed');
  });

  it('in an export thread, the next export sees the writes made since the last', async () => {
    const workers = new ExportWorkers(1);
    const reads = new ReadConnections(file);
    try {
      const first = await bytesOf(threadedStoredDocuments(workers, file, orgId, WINDOW));
      await store.applyImport(orgId, generateSeed({ sessions: 20, days: 10, seed: 7, endMs: NOW, nowMs: NOW }), NOW);
      const next = await bytesOf(threadedStoredDocuments(workers, file, orgId, WINDOW));
      assert.ok(next.length > first.length, 'the sessions imported in between are in it');
      assert.ok(next.equals(await bytesOf(sqliteStoredDocuments(reads, orgId, WINDOW))), 'what the event loop reads');
    } finally {
      reads.close();
      await workers.close();
    }
  });
});
