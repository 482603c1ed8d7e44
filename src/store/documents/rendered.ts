import type { SessionFacts } from '../../analytics/session-facts.js';
import type { DocumentSize } from '../../coaching/limits.js';

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
