import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createOrganization } from '../src/accounts/organizations.js';
import { ownedByExport } from '../src/export/owned-chunks.js';
import { writeChunks } from '../src/http/export-writer.js';
import { generateSeed } from '../src/seed/generate.js';
import { SQLITE_PAGE_BYTES } from '../src/store/sqlite/document-pages.js';
import { sqliteStoreForSuite } from './helpers/backends.js';

/**
 * The export writes its chunks with a callback each and frees a chunk's memory in it
 * (src/http/export-writer.ts): only Buffers that are their memory's whole view, only once sent,
 * and the bytes on the wire stay exactly what was written.
 */
describe('writing an export', () => {
  it('frees each Buffer the store marked as its own once the socket took it, and leaves every other alone', async () => {
    const owned = [ownedByExport(Buffer.alloc(300_000, 'a')), ownedByExport(Buffer.alloc(70_000, 'b'))];
    const unmarked = Buffer.alloc(50_000, 'u');
    const pooled = Buffer.from('"pooled"');
    const backing = Buffer.alloc(10_000, 'c');
    const view = ownedByExport(backing.subarray(100, 200));
    const chunks: Array<Buffer | string> = ['[', owned[0]!, ',', pooled, ',', view, ',', unmarked, ',', owned[1]!, ']'];
    const expected = Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : Buffer.from(c))));
    async function* produce() {
      yield* chunks;
    }
    const server = http.createServer((_request, response) => {
      writeChunks(produce(), response, new AbortController().signal).then(() => response.end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const body = Buffer.from(await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)).arrayBuffer());
      assert.ok(body.equals(expected), 'the bytes sent are the bytes written');
      for (const buffer of owned) {
        assert.equal((buffer.buffer as ArrayBuffer).detached, true, 'a marked Buffer is freed after it was sent');
        assert.equal(buffer.length, 0);
      }
      assert.equal(unmarked.length, 50_000, 'a whole Buffer the store did not mark is left alone');
      assert.equal(pooled.toString(), '"pooled"', 'a slice of the shared pool is left alone');
      assert.equal(view.length, 100, 'a marked view into a larger Buffer is left alone');
      assert.equal(backing.buffer.detached, false);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('lets the event loop turn between a few megabytes written, however many exports have pages ready', async () => {
    const chunk = Buffer.alloc(1 << 20, 'x');
    // Twelve exports with every page ready at once, into sinks that take each write there and then.
    const exports = 12;
    const pagesEach = 3;
    let written = 0;
    const sink = () =>
      new Writable({
        highWaterMark: 64 << 20,
        write(_bytes, _encoding, callback) {
          written++;
          callback();
        },
      });
    async function* pages() {
      for (let i = 0; i < pagesEach; i++) yield chunk;
    }
    const writing = Array.from({ length: exports }, () => writeChunks(pages(), sink(), new AbortController().signal));
    // A request arriving now is answered in the loop's next turn: by then only the first few
    // megabytes are out, and so in every turn after, also when the exports that waited resume together.
    const perTurn: number[] = [];
    let before = 0;
    while (written < exports * pagesEach && perTurn.length < 100) {
      await new Promise((resolve) => setImmediate(resolve));
      perTurn.push(written - before);
      before = written;
    }
    await Promise.all(writing);
    assert.equal(written, exports * pagesEach, 'every page is written in the end');
    assert.ok(perTurn.length > 4, `the pages went out over ${perTurn.length} turns`);
    assert.ok(
      perTurn.every((n) => n <= 5),
      `MB written a turn: ${perTurn.join(', ')}`,
    );
  });

  describe('the SQLite store, whose pages are freed as they are sent', () => {
    // Pages read document by document, sized as they are read: a day page's parts are sized when
    // built, and the second export here would read them (export-day-pages.test.ts).
    const suite = sqliteStoreForSuite({ exportDayPages: false });

    it('sizes each page from what it read, not from the Buffer it gave away', async () => {
      const { store } = suite;
      const now = Date.parse('2025-04-01T00:00:00.000Z');
      const org = await createOrganization(store, { name: 'Pages', adminEmail: 'pages@example.test' }, now);
      await store.applyImport(org.orgId, generateSeed({ sessions: 1000, days: 10, seed: 3, endMs: now, nowMs: now }), now);
      const window = { axis: 'createdAt' as const, fromMs: now - 60 * 86_400_000, toMs: now + 86_400_000 };
      const read = async (free: boolean) => {
        const sizes: number[] = [];
        let sessions = 0;
        for await (const chunk of store.exportDocuments(org.orgId, window)) {
          const data = chunk.data as Buffer;
          sizes.push(data.length);
          sessions += chunk.sessions;
          // As the writer does once the page is sent.
          if (free) (data.buffer as ArrayBuffer).transfer(0);
        }
        return { sizes, sessions };
      };
      const kept = await read(false);
      const { sizes, sessions } = await read(true);
      assert.equal(sessions, kept.sessions);
      assert.ok(sessions > 800, `${sessions} sessions`);
      assert.deepEqual(sizes, kept.sizes, 'the same pages whether or not each was freed after it was read');
      assert.ok(sizes.length > 3, `${sizes.length} pages`);
      assert.ok(Math.max(...sizes) < 2 * SQLITE_PAGE_BYTES, `pages of ${sizes.join(', ')} bytes stay near ${SQLITE_PAGE_BYTES}`);
    });
  });
});
