import type { ExportSession } from '../../contract/schemas.js';

/**
 * Where an export goes. Sessions of a window are written, then committed together; an interrupted
 * export is cut back to its last commit and closed so its files are complete and valid.
 */
export interface ExportWriter {
  write(session: ExportSession): void;
  /** Returns each file's size, to resume from. */
  commit(): Record<string, number>;
  /** Completes the files (closing bracket) after the last window, or after an interruption. */
  finish(options: { interrupted: boolean }): void;
}
