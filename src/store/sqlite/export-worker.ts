import os from 'node:os';
import { parentPort, type MessagePort } from 'node:worker_threads';
import { type DocumentPages, pageShare, pagesFrom } from './document-pages.js';
import type { ExportOpen, FromExportWorker, ToExportWorker } from './export-messages.js';
import { ReadConnections } from './read-connections.js';

/**
 * The thread behind `ExportWorkers`: reads the pages of the exports it is given, each on a read-only
 * connection of its own (kept open between exports: read-connections.ts) inside one read
 * transaction, and transfers each page's memory to the main thread. An export is read only while
 * it has credit (pages the main thread has not yet taken), so a slow client holds back its own
 * reads and no more. Exports with credit take turns, one page
 * each per turn of this thread's event loop, so a large export does not hold up a small one.
 */
interface Reading {
  port: MessagePort;
  pages: DocumentPages | null;
  credit: number;
  queued: boolean;
}

/**
 * The thread's niceness: when exports and requests want more CPU than there is, the event loop
 * (requests, the socket writes) goes first and the reads ahead wait. At the same priority, twelve
 * concurrent exports on the 2-core bench machine put `/healthz` p99 at 54–70 ms in two sets of
 * three (target < 50 ms); at +5, 15–35 ms, with single exports as fast (docs/performance.md,
 * "SQLite export threads"). Only on Linux is a priority a thread's own; elsewhere it would lower
 * the whole process, so the thread is left as it is.
 */
const NICENESS = 5;
if (process.platform === 'linux') {
  try {
    os.setPriority(0, NICENESS);
  } catch {
    // Not permitted (a sandbox): the reads run at the process's priority.
  }
}

const ready: Reading[] = [];
let scheduled = false;
/** Exports this thread is reading: they share one turn's reads as on the event loop, so many at once hold little memory ahead. */
let exportsReading = 0;
/** By database file: a thread serves one store, but nothing here assumes it. */
const connections = new Map<string, ReadConnections>();

const send = (reading: Reading, message: FromExportWorker, transfer: ArrayBuffer[] = []) => reading.port.postMessage(message, transfer);

function schedule(reading: Reading): void {
  if (reading.queued || reading.credit <= 0 || reading.pages === null) return;
  reading.queued = true;
  ready.push(reading);
  if (!scheduled) {
    scheduled = true;
    setImmediate(turn);
  }
}

function turn(): void {
  scheduled = false;
  for (const reading of ready.splice(0)) {
    reading.queued = false;
    step(reading);
  }
}

/** The page's own memory when the page is all of it (what better-sqlite3 hands over), else a copy. */
function memoryOf(docs: Buffer): ArrayBuffer {
  const memory = docs.buffer;
  if (memory instanceof ArrayBuffer && docs.byteOffset === 0 && docs.byteLength === memory.byteLength) return memory;
  return new Uint8Array(docs).buffer;
}

function step(reading: Reading): void {
  if (reading.pages === null) return;
  try {
    const page = reading.pages.read();
    if (page === null) {
      const { filesGone } = reading.pages;
      finish(reading);
      send(reading, { kind: 'end', filesGone });
      return;
    }
    const data = memoryOf(page.docs);
    reading.credit--;
    send(reading, { kind: 'page', data, sessions: page.sessions }, [data]);
    schedule(reading);
  } catch (error) {
    finish(reading);
    send(reading, failure(error));
  }
}

/** An error as it crosses to the main thread: its message and its SQLite code, if any. */
function failure(error: unknown): FromExportWorker {
  const { message, code } = error instanceof Error ? (error as Error & { code?: unknown }) : { message: String(error), code: undefined };
  return { kind: 'error', message, code: typeof code === 'string' ? code : undefined };
}

/** Ends the read transaction and gives the connection back, as soon as the export needs no more pages. */
function finish(reading: Reading): void {
  const pages = reading.pages;
  if (pages === null) return;
  reading.pages = null;
  exportsReading--;
  pages.close();
}

parentPort!.on('message', ({ file, orgId, window, mapped, port, credit }: ExportOpen) => {
  const reading: Reading = { port, pages: null, credit, queued: false };
  port.on('message', (message: ToExportWorker) => {
    if (message === 'more') {
      reading.credit++;
      schedule(reading);
    } else {
      finish(reading);
      send(reading, { kind: 'closed' });
      port.close();
    }
  });
  try {
    const kept = connections.get(file) ?? new ReadConnections(file);
    connections.set(file, kept);
    reading.pages = pagesFrom(kept, orgId, window, () => pageShare(exportsReading), mapped);
    exportsReading++;
  } catch (error) {
    send(reading, failure(error));
    return;
  }
  schedule(reading);
});
