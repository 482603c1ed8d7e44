import { createRequire } from 'node:module';
import { pipeline, type Readable } from 'node:stream';
import zlib from 'node:zlib';

// Through require, not import: the ES module of a built-in reads all its exports, and node:http's
// lazy ones load undici and the web streams, 27 ms against 4 ms, of every `coachport export`.
const require = createRequire(import.meta.url);
const http = require('node:http') as typeof import('node:http');
const https = require('node:https') as typeof import('node:https');

/** What the client reads of an HTTP response. */
export interface HttpAnswer {
  status: number;
  /** A header's value, or null when it was not sent. */
  header(name: string): string | null;
  /** The body as it arrives, gzip undone. */
  body: AsyncIterable<Uint8Array>;
  /**
   * Each chunk of `body` is a view of a socket read that nothing else holds (a plain response), so
   * a reader done with it may give its memory back (ReadBuffers); not so for gzip's output.
   */
  readsOwned: boolean;
  text(): Promise<string>;
}

export interface HttpAsk {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}

/**
 * The inflated body's chunks: zlib's default of 16 KB made a 470 MB export 31,000 chunks, each a
 * callback, a Buffer and a turn of the reader, and took 2.4 s of CPU to inflate; in 256 KB chunks
 * 1.0 s (64 KB: 1.3 s), measured inflating the same file alone.
 */
const GUNZIP_CHUNK_BYTES = 256 * 1024;

/**
 * One request through Node's own HTTP client, not `fetch`: a response read as a Node stream costs
 * a third less CPU than one read through fetch's web streams (470 MB: ~320 ms against ~460), which
 * is much of what `coachport export` does. Like fetch it undoes gzip; unlike fetch it does not
 * follow redirects, so a redirect comes back as the status it is (see statusError).
 */
export function ask(url: string, init: HttpAsk): Promise<HttpAnswer> {
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const headers = init.body === undefined ? init.headers : { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) };
    const request = client.request(target, { method: init.method, headers, signal: init.signal }, (response) => {
      const encoding = response.headers['content-encoding']?.trim().toLowerCase();
      const gzip = encoding === 'gzip' || encoding === 'x-gzip';
      const body: Readable = gzip ? pipeline(response, zlib.createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES }), () => {}) : response;
      resolve({
        status: response.statusCode ?? 0,
        readsOwned: !gzip,
        header: (name) => {
          const value = response.headers[name.toLowerCase()];
          return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
        },
        body,
        text: async () => {
          const chunks: Buffer[] = [];
          for await (const chunk of body) chunks.push(chunk as Buffer);
          return Buffer.concat(chunks).toString('utf8');
        },
      });
    });
    request.on('error', reject);
    request.end(init.body);
  });
}
