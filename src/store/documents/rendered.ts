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
