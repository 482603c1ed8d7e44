import type { ExportChunk } from '../store/store.js';

/**
 * The export as JSON text: the opening bracket, the store's chunks of finished documents (already
 * separated by commas), then the closing bracket. When the consumer stops early, returning from this
 * generator closes the store's read (and its snapshot).
 */
export async function* exportJson(body: AsyncIterable<ExportChunk>): AsyncGenerator<ExportChunk> {
  yield { data: '[', sessions: 0 };
  yield* body;
  yield { data: ']', sessions: 0 };
}

/**
 * The store's read begun, its first chunk in hand, before the answer's status goes out: a database
 * that cannot be read (gone, its connections taken) is then a `503 {"error"}` a client can retry,
 * not a `200` cut after its `[`. The first byte waits for the first chunk: a few milliseconds on
 * SQLite (its first page is eight documents), about 25 ms on PostgreSQL (its first COPY chunk; 2 ms
 * before, in the bench of 2026-12-07), well within SPEC §9's 100 ms.
 *
 * `end` closes the read whatever became of `chunks`: a generator returned before it started runs
 * none of its body, so when the client was gone before the first byte (the body is then never read)
 * only `end` closes the read begun here, which would otherwise hold its snapshot until collected.
 */
export async function begun(body: AsyncIterable<ExportChunk>): Promise<{ chunks: AsyncGenerator<ExportChunk>; end(): Promise<void> }> {
  const reading = body[Symbol.asyncIterator]();
  const first = await reading.next();
  const end = async () => {
    await reading.return?.(undefined);
  };
  const chunks = (async function* () {
    try {
      for (let next = first; !next.done; next = await reading.next()) yield next.value;
    } finally {
      // Stopped early, the read is closed (its snapshot ended) all the same.
      await end();
    }
  })();
  return { chunks, end };
}
