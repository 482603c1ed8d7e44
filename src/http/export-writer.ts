import { once } from 'node:events';
import { Readable, type Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Gzip } from 'node:zlib';
import { freeNow } from '../bytes.js';
import { isOwnedByExport } from '../export/owned-chunks.js';
import { toError } from '../to-error.js';

/** Gives a sent chunk's memory back at once, if the store marked it as the export's own (src/export/owned-chunks.ts). */
function release(chunk: Buffer | string): void {
  if (isOwnedByExport(chunk)) freeNow(chunk);
}

/**
 * What all exports together write in one turn of the event loop before they wait for the next: a
 * socket write copies its bytes there and then, and twelve exports' first pages arriving together
 * held the loop, and every other request, for 70 ms in a profile of the bench's concurrent exports.
 */
const TURN_BYTES = 4 << 20;
let writtenThisTurn = 0;

/** Counted until the next turn's check phase, which starts the count again before any export waiting for it resumes. */
function countWritten(bytes: number): void {
  if (writtenThisTurn === 0) setImmediate(() => (writtenThisTurn = 0));
  writtenThisTurn += bytes;
}

/**
 * Writes an export's chunks into `target` (the response, or the gzip stream before it) one
 * `write` with a callback each, waiting for 'drain' when told to, and releases each chunk's memory
 * in that callback, when `target` is done with its bytes. Piped, the 256 KB pages waited for the
 * garbage collector instead: about 70 MB of them piled up in a server that had streamed a few
 * exports, RSS the allocator kept afterwards, and the export ran 15–20% slower (measured side by
 * side; docs/performance.md, "Freed as sent"). Answers when every chunk is written, or early, once `stopped` aborts (the client
 * went away); returning closes the store's read.
 */
export async function writeChunks(chunks: AsyncIterable<Buffer | string>, target: Writable, stopped: AbortSignal): Promise<void> {
  for await (const chunk of chunks) {
    // Again after each wait: the exports that waited resume together, and each takes its turn's share.
    // The next turn's check phase comes once the loop has polled for other requests.
    while (writtenThisTurn >= TURN_BYTES) await nextTurn();
    if (stopped.aborted) return;
    countWritten(chunk.length);
    const more = target.write(chunk, (error) => {
      if (!error) release(chunk);
    });
    if (!more) {
      try {
        await once(target, 'drain', { signal: stopped });
      } catch (error) {
        if (stopped.aborted) return;
        throw error;
      }
    }
  }
}

/**
 * The plain export's body as Fastify sends a stream: Fastify sets the response's headers and pipes
 * this into it; this pushes no data itself but writes the chunks straight into the response (so
 * each write has its callback) once piping starts, then ends, and the pipe ends the response. A
 * failure destroys it with the error, and Fastify then cuts the connection; Fastify destroys it
 * when the client goes away, which stops the writing.
 */
export function bodyWrittenInto(response: Writable, chunks: AsyncIterable<Buffer | string>): Readable {
  const stop = stopWhenClosed(response);
  let started = false;
  const body: Readable = new Readable({
    read() {
      if (started) return;
      started = true;
      writeChunks(chunks, response, stop.signal).then(
        () => body.push(null),
        (error: unknown) => body.destroy(toError(error)),
      );
    },
    destroy(error, callback) {
      stop.abort();
      callback(error);
    },
  });
  return body;
}

/**
 * The gzip-encoded export: the chunks written into `gzip` (each freed once zlib has taken it),
 * which Fastify pipes into `response`. The writing stops when either closes (the client went away,
 * or the stream was never sent because an error answered instead); a failure mid-stream destroys
 * the gzip stream with the error, so the connection is cut, not ended.
 */
export function gzipWrittenFrom(response: Writable, chunks: AsyncIterable<Buffer | string>, gzip: Gzip): Gzip {
  const stop = stopWhenClosed(response);
  gzip.once('close', () => stop.abort());
  writeChunks(chunks, gzip, stop.signal).then(
    () => gzip.end(),
    (error: unknown) => gzip.destroy(toError(error)),
  );
  return gzip;
}

/** Aborted when the response closes, so no writer waits on a client that is gone. */
function stopWhenClosed(response: Writable): AbortController {
  const stop = new AbortController();
  response.once('close', () => stop.abort());
  return stop;
}
