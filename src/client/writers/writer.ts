import type { ExportSession } from '../../contract/schemas.js';
import type { ResponseReader } from '../export-client.js';

/**
 * Where an export goes. Sessions of a window are written, then committed together; an interrupted
 * export is cut back to its last commit and closed so its files are complete and valid.
 */
export interface ExportWriter {
  write(session: ExportSession): void;
  /**
   * A session given as its JSON text (what `JSON.stringify(session)` gives): JSON and NDJSON copy
   * the bytes instead of parsing the document and writing it again.
   */
  writeText?(json: Uint8Array): void;
  /**
   * `writeText` parses the text anyway (CSV), so it may be given a document's bytes in any valid
   * JSON form, as the server sent them, and throws a SyntaxError (or TypeError, for bytes that are
   * not UTF-8) on malformed ones.
   */
  readonly parsesText?: boolean;
  /** For a writer that parses: see TextSink.writeLeading. */
  writeLeading?(bytes: Buffer, at: number): number;
  /** Takes whole responses' bytes instead of their documents: see TextSink.response. */
  readonly response?: ResponseReader;
  /** `writeText` keeps no view of the bytes it is given: see TextSink.copies. */
  readonly copiesText?: boolean;
  /** A response read whole: see TextSink.end. */
  endResponse?(): void;
  /** Drops what was written since the last commit and goes on from there (a window fetched again). */
  discard?(): void;
  /** Returns each file's size, to resume from. */
  commit(): Record<string, number>;
  /** Completes the files (closing bracket) after the last window, or after an interruption. */
  finish(options: { interrupted: boolean }): void;
}
