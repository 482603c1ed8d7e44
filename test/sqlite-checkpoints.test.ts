import assert from 'node:assert/strict';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { createOrganization } from '../src/accounts/organizations.js';
import { generateSeed } from '../src/seed/generate.js';
import { openStore } from '../src/store/open.js';
import { sqliteBackend } from './helpers/backends.js';

/**
 * SQLite's WAL is checkpointed by a worker thread (src/store/sqlite/checkpointer.ts), so commits on
 * the event loop do not copy pages and fsync. The database file only grows when a checkpoint copies
 * new pages into it, and an import of a few hundred sessions stays far below the writer's own
 * threshold of 10,000 WAL pages: the file growing after the commit is the worker's checkpoint.
 */
describe('SQLite checkpoints', () => {
  it('are made in the background after a commit, and the store closes with its worker', async () => {
    const instance = await sqliteBackend.create();
    const file = instance.config.kind === 'sqlite' ? instance.config.file : '';
    try {
      const store = await openStore(instance.config);
      const now = Date.parse('2025-04-01T00:00:00.000Z');
      const org = await createOrganization(store, { name: 'Checkpoints', adminEmail: 'admin@example.test' }, now);
      await sleep(500);
      const committed = fs.statSync(file).size;
      await store.applyImport(org.orgId, generateSeed({ sessions: 300, days: 10, seed: 3, endMs: now, nowMs: now }), now);
      const walPages = fs.statSync(`${file}-wal`).size / 4096;
      assert.ok(walPages > 200 && walPages < 10_000, `the import wrote ${walPages} WAL pages`);
      let size = fs.statSync(file).size;
      for (let i = 0; i < 100 && size < committed + 1_000_000; i++) {
        await sleep(50);
        size = fs.statSync(file).size;
      }
      assert.ok(size > committed + 1_000_000, `the database file grew from ${committed} to ${size} bytes`);
      await store.close();
    } finally {
      await instance.drop();
    }
  });
});
