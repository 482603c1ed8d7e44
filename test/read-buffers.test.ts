import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { ask } from '../src/client/http-answer.js';
import { ReadBuffers } from '../src/client/read-buffers.js';
import { writeUnevenly } from './helpers/uneven-writes.js';

/** 6 MB sent in writes of uneven sizes, so the socket's reads and the body's chunks fall anywhere. */
const PLAIN = randomBytes(6 * 1024 * 1024);
/** 6 MB that compress a few times, as export documents do, for the gzip response: sent compressed. */
const TEXT = Buffer.from(
  Array.from({ length: 120_000 }, (_, i) => `{"_id":"${randomBytes(12).toString('hex')}","coachNotes":"note ${i % 977}"},`).join(''),
).subarray(0, 6 * 1024 * 1024);
const GZIPPED = zlib.gzipSync(TEXT);

async function serve(gzip: boolean): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => {
    // The compressed body in one write: the socket's reads, not the writes, make the inflater's input.
    if (gzip) return void res.writeHead(200, { 'content-encoding': 'gzip' }).end(GZIPPED);
    res.writeHead(200);
    writeUnevenly(res, PLAIN, 300_000);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe("a plain response's socket reads given back once copied", () => {
  let plain: Awaited<ReturnType<typeof serve>>;
  let gzip: Awaited<ReturnType<typeof serve>>;
  before(async () => {
    plain = await serve(false);
    gzip = await serve(true);
  });
  after(async () => {
    await plain.close();
    await gzip.close();
  });

  const get = (url: string) => ask(url, { method: 'GET', headers: {}, signal: new AbortController().signal });

  it('gives back every read of a reader that copies each chunk, and the bytes copied are the bytes sent', async () => {
    const answer = await get(plain.url);
    assert.equal(answer.readsOwned, true);
    const reads = new ReadBuffers();
    const copies: Buffer[] = [];
    const memories = new Set<ArrayBufferLike>();
    let chunks = 0;
    for await (const chunk of answer.body) {
      copies.push(Buffer.from(chunk));
      memories.add(chunk.buffer);
      reads.read(chunk, true);
      chunks++;
    }
    reads.release();
    assert.ok(Buffer.concat(copies).equals(PLAIN));
    assert.ok(memories.size > 10, `${memories.size} reads`);
    assert.ok(chunks >= memories.size);
    for (const memory of memories) assert.equal(memory.byteLength, 0, 'every read was given back');
  });

  it('keeps a read any chunk of which the reader kept by reference, with its bytes intact', async () => {
    const answer = await get(plain.url);
    const reads = new ReadBuffers();
    const kept: Array<{ view: Uint8Array; copy: Buffer }> = [];
    const given: Uint8Array[] = [];
    let n = 0;
    for await (const chunk of answer.body) {
      // Every third chunk is kept as a view; the others are copied.
      const keep = n++ % 3 === 0;
      if (keep) kept.push({ view: chunk, copy: Buffer.from(chunk) });
      else given.push(chunk);
      reads.read(chunk, !keep);
    }
    reads.release();
    assert.ok(kept.length > 3);
    for (const { view, copy } of kept) assert.ok(Buffer.from(view).equals(copy), 'a kept chunk still holds its bytes');
    const keptMemories = new Set(kept.map((k) => k.view.buffer));
    const freed = given.filter((chunk) => !keptMemories.has(chunk.buffer));
    assert.ok(freed.length > 0);
    for (const chunk of freed) assert.equal(chunk.buffer.byteLength, 0);
  });

  it('gives back memory that several chunks shared only once all were copied, and never memory with bytes not read', () => {
    const reads = new ReadBuffers();
    const shared = new ArrayBuffer(300);
    const [first, second, third] = [0, 100, 200].map((at) => new Uint8Array(shared, at, 100)) as [Uint8Array, Uint8Array, Uint8Array];
    first.fill(1);
    reads.read(first, false);
    reads.read(second, true);
    reads.read(third, true);
    const partly = new ArrayBuffer(64);
    reads.read(new Uint8Array(partly, 8, 56), true);
    assert.equal(shared.byteLength, 300, 'one of its chunks was kept by reference');
    assert.equal(first[99], 1);
    const whole = new ArrayBuffer(64);
    reads.read(new Uint8Array(whole), true);
    assert.equal(partly.byteLength, 64, 'eight of its bytes never came in a chunk');
    const halves = new ArrayBuffer(64);
    reads.read(new Uint8Array(halves, 0, 32), true);
    reads.read(new Uint8Array(halves, 32, 32), true);
    assert.equal(whole.byteLength, 0);
    reads.release();
    assert.equal(halves.byteLength, 0);
  });

  it('says a gzip response’s chunks are not its own to give back, and inflates it in large chunks', async () => {
    const answer = await get(gzip.url);
    assert.equal(answer.readsOwned, false);
    const chunks: Buffer[] = [];
    for await (const chunk of answer.body) chunks.push(Buffer.from(chunk));
    assert.ok(Buffer.concat(chunks).equals(TEXT));
    // zlib's default 16 KB would make the 6 MB at least 384 chunks (each a callback and a Buffer).
    assert.equal(TEXT.length, 6 * 1024 * 1024);
    assert.ok(chunks.length < 150, `${chunks.length} chunks`);
  });
});
