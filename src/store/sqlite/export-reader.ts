import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ExportWindow } from '../../export/window.js';
import type { ExportChunk } from '../store.js';
import { ownedByExport } from '../../export/owned-chunks.js';
import type { DayFilesGone } from './day-page-files.js';
import { type DocumentPages, pageShare, pagesFrom } from './document-pages.js';
import type { ExportWorkers } from './export-workers.js';
import type { ReadConnections } from './read-connections.js';

/**
 * SQLite exports streaming on this event loop. Their page reads are synchronous, so together they
 * aim at SQLITE_PAGE_BYTES per turn of the event loop: one export alone reads at full speed,
 * twelve at once read smaller pages and other requests wait behind less.
 */
let streaming = 0;

/**
 * The stored documents of a window read on the event loop (the default): a page at a time
 * (document-pages.ts) inside one read transaction on a read-only connection of the export's own,
 * taken from `connections` and given back. Between pages the event loop turns, so other requests
 * are served while exports run. Stopping early ends the transaction. Answers, once all are read,
 * the paged days whose parts' files were gone (DocumentPages.filesGone).
 */
export async function* sqliteStoredDocuments(
  connections: ReadConnections,
  orgId: string,
  window: ExportWindow,
  mapped = false,
): AsyncGenerator<ExportChunk, DayFilesGone[]> {
  streaming++;
  let pages: DocumentPages | undefined;
  try {
    pages = pagesFrom(connections, orgId, window, () => pageShare(streaming), mapped);
    for (let page = pages.read(); page !== null; page = pages.read()) {
      // The writer may free the Buffer's memory once it is sent: nothing reads it after the yield.
      yield { data: ownedByExport(page.docs), sessions: page.sessions };
      await nextTurn();
    }
    return pages.filesGone;
  } finally {
    streaming--;
    pages?.close();
  }
}

/** An error the export thread reported, with its SQLite code (SQLITE_BUSY, SQLITE_CORRUPT…) kept. */
class ExportReadError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'ExportReadError';
  }
}

/**
 * The stored documents of a window read in an export thread (SQLITE_EXPORT_THREADS above 0;
 * export-worker.ts: one snapshot on a read-only connection of the export's own) while this thread
 * writes the pages before them into the socket, so the reads and the writes run side by side
 * instead of taking turns on the event loop. Each page's memory is transferred, not copied, and
 * the writer may free it once it is sent: nothing here reads it after the yield. The thread reads
 * at most EXPORT_PAGES_AHEAD pages ahead of what has been taken from here. Stopping early (the
 * client went away) answers once the thread has ended the export's transaction. Answers, once all
 * are read, the paged days whose parts' files were gone.
 */
export async function* threadedStoredDocuments(
  workers: ExportWorkers,
  file: string,
  orgId: string,
  window: ExportWindow,
  mapped = false,
): AsyncGenerator<ExportChunk, DayFilesGone[]> {
  const channel = workers.open(file, orgId, window, mapped);
  try {
    for (;;) {
      const message = await channel.receive();
      if (message.kind === 'end') return message.filesGone;
      if (message.kind === 'error') throw new ExportReadError(message.message, message.code);
      if (message.kind === 'page') {
        yield { data: ownedByExport(Buffer.from(message.data)), sessions: message.sessions };
        channel.more();
      }
    }
  } finally {
    await channel.close();
  }
}
