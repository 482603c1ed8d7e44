import type { ExportSession } from '../contract/schemas.js';
import { DomainError } from './errors.js';
import { groupedDigits } from '../digits.js';

/**
 * How large one session may grow (SPEC §12, "Sizes"). Deleted points and to-dos count: they stay
 * in the session's export document. MB here is 1,000,000 bytes of UTF-8.
 */
export const SESSION_LIMITS = {
  coachingPoints: 200,
  todos: 200,
  activityLog: 5_000,
  documentBytes: 2_000_000,
} as const;

/** A change-feed page ends once its documents would pass this many bytes (always at least one document). */
export const FEED_PAGE_BYTES = 8_000_000;

export type SizeKind = keyof typeof SESSION_LIMITS;

export interface DocumentSize {
  coachingPoints: number;
  todos: number;
  activityLog: number;
  /** The stored JSON text's length in UTF-8 bytes. */
  documentBytes: number;
}

const KINDS: SizeKind[] = ['coachingPoints', 'todos', 'activityLog', 'documentBytes'];

export function documentSize(doc: ExportSession, json: string): DocumentSize {
  return {
    coachingPoints: doc.coachingPoints.length,
    todos: doc.todos.length,
    activityLog: doc.activityLog.length,
    documentBytes: Buffer.byteLength(json, 'utf8'),
  };
}

/** The first limit `size` is beyond. */
export function exceededLimit(size: DocumentSize): SizeKind | null {
  return KINDS.find((kind) => size[kind] > SESSION_LIMITS[kind]) ?? null;
}

/**
 * The first limit `after` is beyond and grew past since `before` (null: the session has no
 * document yet). A session already over a limit (written before the limits existed) may still
 * change in ways that do not grow it there, so it can be trimmed back.
 */
export function grownPastLimit(after: DocumentSize, before: DocumentSize | null): SizeKind | null {
  return KINDS.find((kind) => after[kind] > SESSION_LIMITS[kind] && (before === null || after[kind] > before[kind])) ?? null;
}

const number = groupedDigits;

/** The sentence for a session over a limit, naming the session and the limit. */
export function describeLimit(sessionId: string, kind: SizeKind, size: DocumentSize): string {
  const session = `Coaching session ${JSON.stringify(sessionId)}`;
  const value = number(size[kind]);
  switch (kind) {
    case 'coachingPoints':
      return `${session} would have ${value} coaching points; a session can have at most ${number(SESSION_LIMITS.coachingPoints)}.`;
    case 'todos':
      return `${session} would have ${value} to-dos; a session can have at most ${number(SESSION_LIMITS.todos)}.`;
    case 'activityLog':
      return `${session} would have ${value} activity-log entries; a session can have at most ${number(SESSION_LIMITS.activityLog)}.`;
    case 'documentBytes':
      return (
        `${session} would be ${value} bytes as an export document; a session's document can be at most ` +
        `${number(SESSION_LIMITS.documentBytes)} bytes (2 MB).`
      );
  }
}

/** A write that would take a session beyond a limit: refused (409), and its transaction changes nothing. */
export function sessionLimitError(sessionId: string, kind: SizeKind, size: DocumentSize): DomainError {
  return new DomainError('conflict', describeLimit(sessionId, kind, size));
}
