import type { MessagePort } from 'node:worker_threads';
import type { ExportWindow } from '../../export/window.js';
import type { DayFilesGone } from './day-page-files.js';

/** Asks an export worker to read a window's documents, answering on `port`. */
export interface ExportOpen {
  file: string;
  orgId: string;
  window: ExportWindow;
  /** Read through a memory map (document-pages.ts). */
  mapped: boolean;
  port: MessagePort;
  /** Pages the worker may send before it is granted more. */
  credit: number;
}

/** From the main thread on an export's port: one more page may be sent, or the export is over. */
export type ToExportWorker = 'more' | 'close';

/** From the worker on an export's port. `data` is transferred, never copied. */
export type FromExportWorker =
  | { kind: 'page'; data: ArrayBuffer; sessions: number }
  | { kind: 'end'; filesGone: DayFilesGone[] }
  | { kind: 'error'; message: string; code: string | undefined }
  | { kind: 'closed' };
