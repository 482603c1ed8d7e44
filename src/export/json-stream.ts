/**
 * Sessions per chunk written to the socket: a chunk of ~100 KB stays below V8's large-object size,
 * so it is collected young and memory stays flat however long the export.
 */
const SESSIONS_PER_CHUNK = 20;

/**
 * The export as JSON text: the opening bracket leaves before the first query so the first byte
 * goes out at once, and nothing larger than a page is held. When the consumer stops early,
 * returning from this generator closes the pages (and their snapshot).
 */
export async function* exportJson(pages: AsyncIterable<string[]>): AsyncGenerator<string> {
  yield '[';
  let separator = '';
  for await (const page of pages) {
    for (let i = 0; i < page.length; i += SESSIONS_PER_CHUNK) {
      yield separator + page.slice(i, i + SESSIONS_PER_CHUNK).join(',');
      separator = ',';
    }
  }
  yield ']';
}
