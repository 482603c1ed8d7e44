import type { ExportChunk } from '../store/store.js';

/**
 * The export as JSON text: the opening bracket leaves before the first query so the first byte
 * goes out at once, then the store's chunks of finished documents (already separated by commas),
 * then the closing bracket. When the consumer stops early, returning from this generator closes
 * the store's read (and its snapshot).
 */
export async function* exportJson(body: AsyncIterable<ExportChunk>): AsyncGenerator<ExportChunk> {
  yield { data: '[', sessions: 0 };
  yield* body;
  yield { data: ']', sessions: 0 };
}
