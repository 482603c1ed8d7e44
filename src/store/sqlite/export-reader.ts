import type { ExportWindow } from '../../export/window.js';
import type { ExportChunk } from '../store.js';
import { ownedByExport } from '../../export/owned-chunks.js';
import type { ExportWorkers } from './export-workers.js';

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
 * The stored documents of a window, read in an export thread (export-worker.ts, one snapshot on a
 * read-only connection of the export's own; see document-pages.ts for the pages) while this thread
 * writes the pages before them into the socket: the reads and the writes run side by side instead
 * of taking turns on the event loop. Each page's memory is transferred, not copied, and the
 * writer may free it once it is sent: nothing here reads it after the yield. The thread reads at
 * most EXPORT_PAGES_AHEAD pages ahead of what has been taken from here. Stopping early (the client
 * went away) answers once the thread has closed the export's connection, which ends its transaction.
 */
export async function* sqliteStoredDocuments(
  workers: ExportWorkers,
  file: string,
  orgId: string,
  window: ExportWindow,
): AsyncGenerator<ExportChunk> {
  const channel = workers.open(file, orgId, window);
  try {
    for (;;) {
      const message = await channel.receive();
      if (message.kind === 'end') return;
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
