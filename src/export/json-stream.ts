import type { ExportSession } from '../contract/schemas.js';

/**
 * The export as JSON text, one chunk per page: the opening bracket leaves before the first
 * query so the first byte goes out at once, and nothing larger than a page is held. When the
 * consumer stops early, returning from this generator closes the pages (and their snapshot).
 */
export async function* exportJson(pages: AsyncIterable<ExportSession[]>): AsyncGenerator<string> {
  yield '[';
  let separator = '';
  for await (const page of pages) {
    let chunk = '';
    for (const session of page) {
      chunk += separator + JSON.stringify(session);
      separator = ',';
    }
    if (chunk !== '') yield chunk;
  }
  yield ']';
}
