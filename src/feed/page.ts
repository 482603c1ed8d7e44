import type { FeedChange } from '../store/store.js';

export interface FeedPage {
  changes: FeedChange[];
  hasMore: boolean;
}

/**
 * One page of the change feed out of what the store answered for `limit + 1` changes and
 * `maxBytes` (Store.changesAfter): at most `limit` changes, ending before the change that would
 * take its documents past `maxBytes`, but never empty while a change waits, so a reader always
 * progresses. Whatever is cut off is read again after the page's cursor, so nothing is missed or repeated.
 */
export function feedPage(answered: FeedChange[], limit: number, maxBytes: number): FeedPage {
  const changes: FeedChange[] = [];
  let bytes = 0;
  for (const change of answered) {
    if (changes.length === limit) break;
    const size = Buffer.byteLength(change.doc, 'utf8');
    if (changes.length > 0 && bytes + size > maxBytes) break;
    changes.push(change);
    bytes += size;
  }
  return { changes, hasMore: answered.length > changes.length };
}
