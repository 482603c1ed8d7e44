import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { ExportWindow } from '../../export/window.js';
import type { ExportOpen, FromExportWorker, ToExportWorker } from './export-messages.js';

/**
 * Pages an export's worker may read ahead of what the main thread has taken: enough that the next
 * page is ready when the socket wants it, few enough that an export alone holds about 4 MB and
 * many in one thread, whose pages are smaller (export-worker.ts), about as much together.
 */
export const EXPORT_PAGES_AHEAD = 4;

interface Thread {
  worker: Worker;
  exports: Set<PageChannel>;
}

/**
 * The main thread's end of one export: pages arrive in order on a port of its own, and the export
 * gives credit back one page at a time as it takes them.
 */
export class PageChannel {
  private readonly arrived: FromExportWorker[] = [];
  private waiting: { resolve: (message: FromExportWorker) => void; reject: (error: Error) => void } | null = null;
  private failure: Error | null = null;
  private closed: Promise<void> | null = null;
  private onClosed: (() => void) | null = null;

  constructor(
    private readonly port: MessagePort,
    private readonly release: () => void,
  ) {
    port.on('message', (message: FromExportWorker) => {
      if (message.kind === 'closed') return this.onClosed?.();
      if (this.waiting) {
        this.waiting.resolve(message);
        this.waiting = null;
      } else this.arrived.push(message);
    });
  }

  /** The worker's next message about this export: a page, the end, or an error. */
  receive(): Promise<FromExportWorker> {
    const message = this.arrived.shift();
    if (message) return Promise.resolve(message);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  /** A page was taken: the worker may read one more. */
  more(): void {
    this.post('more');
  }

  /**
   * Ends the export: answers once the worker has ended its read transaction (so its snapshot is no
   * longer held), or once the worker is gone.
   */
  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      this.onClosed = resolve;
      if (this.failure) resolve();
      else this.post('close');
    }).then(() => {
      this.port.close();
      this.release();
    });
    return this.closed;
  }

  /** The worker stopped: whatever waits on this export fails, and closing it waits for nothing. */
  fail(error: Error): void {
    this.failure = error;
    this.waiting?.reject(error);
    this.waiting = null;
    this.onClosed?.();
  }

  private post(message: ToExportWorker): void {
    if (!this.failure) this.port.postMessage(message);
  }
}

/**
 * The threads that read SQLite exports (src/store/sqlite/export-worker.ts), started when the first
 * export needs one and shared by all: each thread reads any number of exports, taking turns.
 */
export class ExportWorkers {
  private readonly threads: Thread[] = [];
  private stopping = false;

  constructor(private readonly size: number) {}

  /** Starts reading a window's documents in the least busy thread. */
  open(file: string, orgId: string, window: ExportWindow, mapped = false): PageChannel {
    if (this.stopping) throw new Error('The store is closed.');
    const thread = this.leastBusy();
    const { port1, port2 } = new MessageChannel();
    const channel = new PageChannel(port1, () => {
      thread.exports.delete(channel);
      if (thread.exports.size === 0) thread.worker.unref();
    });
    thread.exports.add(channel);
    thread.worker.ref();
    const open: ExportOpen = { file, orgId, window, mapped, port: port2, credit: EXPORT_PAGES_AHEAD };
    thread.worker.postMessage(open, [port2]);
    return channel;
  }

  async close(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.threads.map((thread) => thread.worker.terminate()));
  }

  private leastBusy(): Thread {
    let best: Thread | undefined;
    for (const thread of this.threads) if (!best || thread.exports.size < best.exports.size) best = thread;
    if (best && (best.exports.size === 0 || this.threads.length >= this.size)) return best;
    return this.start();
  }

  private start(): Thread {
    const worker = new Worker(new URL('./export-worker.js', import.meta.url));
    // Idle threads do not keep the process alive; a thread with exports does (see open).
    worker.unref();
    const thread: Thread = { worker, exports: new Set() };
    let failure: Error = new Error('The export thread stopped.');
    worker.on('error', (error) => (failure = error));
    worker.on('exit', () => {
      this.threads.splice(this.threads.indexOf(thread), 1);
      for (const channel of thread.exports) channel.fail(failure);
    });
    this.threads.push(thread);
    return thread;
  }
}
