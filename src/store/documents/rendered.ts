import type { SessionFacts } from '../../analytics/session-facts.js';
import type { DocumentSize } from '../../coaching/limits.js';
import { asBuffer } from '../../bytes.js';
import { bytesHoldLoneSurrogate, hasLoneSurrogate } from './document-text.js';

/**
 * A session's document as the renderer made it, with the two time axes the export reads it by,
 * and the facts its stats row holds (taken from the same document).
 */
export interface RenderedDocument {
  sessionId: string;
  createdAt: number;
  meetingDate: number | null;
  json: string;
  facts: SessionFacts;
  /** What the size limits (coaching/limits.ts) count, of this document. */
  size: DocumentSize;
  /**
   * Whether the older log entries are kept apart (log-archive.ts): then `json` is what the
   * document row holds, without them. Absent: `json` is the whole document.
   */
  logArchived?: boolean;
  /**
   * The meeting date the session's stored rows hold, when the writer read it (an edit in place):
   * equal to `meetingDate`, the rows are updated without it, and its indexes' pages stay as they are.
   */
  storedMeetingDate?: number | null;
}

/**
 * A rendered document whose JSON was encoded as UTF-8 where it was rendered (a streamed import's
 * reading thread, render-batch.ts). The documents of one batch share one `ArrayBuffer`, which crosses
 * to the writer's thread transferred, not copied: SQLite stores the bytes as they are, so the
 * writer neither receives a copy of each text nor encodes it again.
 */
export interface EncodedDocument extends Omit<RenderedDocument, 'json'> {
  utf8: Uint8Array;
}

/** A document as a store writes it: rendered there, or encoded where the import's plan was made. */
export type StoredDocument = RenderedDocument | EncodedDocument;

/** A document's JSON in whichever form it has; the store's adapter makes it the column's value (`documentValue`). */
export const documentJson = (d: StoredDocument): string | Uint8Array => ('utf8' in d ? d.utf8 : d.json);

/**
 * A rendered document as the tables will render it. A text holding a lone surrogate (half of a
 * UTF-16 pair, which JSON can escape but UTF-8 cannot hold) is stored by both databases with the
 * replacement character instead, as the coaching API's writes are (coaching-tx.ts): an import
 * writes the document so from the start. Written as rendered and rendered again before the commit,
 * it took a new place in the change feed at every import, however unchanged.
 */
export function asStored(d: StoredDocument): StoredDocument {
  const json = documentJson(d);
  if (typeof json === 'string' ? !hasLoneSurrogate(json) : !bytesHoldLoneSurrogate(asBuffer(json))) return d;
  const text = typeof json === 'string' ? json : asBuffer(json).toString('utf8');
  const { utf8: _, ...rest } = d as StoredDocument & { utf8?: Uint8Array };
  // The renderer's own JSON.stringify output, parsed and written again, is the same text but for the strings made well formed.
  const stored = JSON.stringify(JSON.parse(text, (_key, value: unknown) => (typeof value === 'string' ? value.toWellFormed() : value)));
  return { ...rest, json: stored };
}
