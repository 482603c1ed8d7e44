import { asBuffer } from '../bytes.js';
import { ExportClient, type ClientEvent } from '../client/export-client.js';
import { planWindows, type DayWindow } from '../client/windows.js';
import { DiskLedger } from './disk-ledger.js';
import { HeapKeeper } from './heap-keeper.js';
import { ImportPlanner, type ImportPlan } from './plan.js';
import { WindowSpool } from './window-spool.js';

/** A document of the server's export that the import refuses: nothing is written, and it is named. */
export class RefusedDocument extends Error {}

export interface ServerImportOptions {
  url: string;
  token: string;
  from: string;
  to: string;
  /** Sessions a batch carries into the store. */
  batchSessions: number;
  perSecond?: number;
  perMinute?: number;
  gzip?: boolean;
  /** Aborting stops the export; the batches then fail with the signal's reason. */
  signal?: AbortSignal;
  onEvent?: (event: ClientEvent) => void;
  onWindow?: (window: DayWindow, index: number, sessions: number) => void;
}

/**
 * The server's sessions as checked batches for Store.importBatches, read from each response as it
 * arrives: windows of the createdAt axis (every session has a createdAt, so every session is in
 * exactly one window), each document checked by the same planner as a file's, a batch set aside
 * on disk whenever it is full (WindowSpool), and a window's batches handed to the store once the
 * window has arrived whole, the next window fetched after the store has written them. So memory
 * holds one batch however large the export.
 *
 * A window cut short is fetched again by the client; what the planner and the spool had of it is
 * forgotten, and the store never sees it.
 */
export function serverBatches(options: ServerImportOptions): { batches: AsyncIterable<ImportPlan>; planner: ImportPlanner } {
  const windows = planWindows(options.from, options.to);
  /** The first element number of each window started so far; elements are numbered across windows. */
  const firstElement: number[] = [0];
  const label = (element: number) => {
    let index = firstElement.length - 1;
    while (index > 0 && firstElement[index]! > element) index--;
    const window = windows[index]!;
    return `Element ${element - firstElement[index]!} of the window ${window.startDate}..${window.endDate}`;
  };
  const ledger = new DiskLedger();
  const plan = new ImportPlanner(label, ledger);
  const spool = new WindowSpool<ImportPlan>();
  const heap = new HeapKeeper();
  const handoff = new Handoff<ImportPlan>();
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const client = new ExportClient({
    baseUrl: options.url,
    token: options.token,
    perSecond: options.perSecond,
    perMinute: options.perMinute,
    gzip: options.gzip,
    signal,
    onEvent: options.onEvent,
  });
  let element = 0;
  const sink = {
    text: (json: Uint8Array): void => {
      const value: unknown = JSON.parse(asBuffer(json).toString('utf8'));
      // Aborting first, the client gives up at once instead of fetching the window again: for a
      // refused document, and for this machine's failure (the ledger's or the spool's disk full).
      let refusal: string | null;
      try {
        refusal = plan.add(value, element++, undefined, json);
        if (refusal === null && plan.pending >= options.batchSessions) spool.put(plan.take());
      } catch (error) {
        stop.abort(error);
        throw error;
      }
      if (refusal !== null) {
        const refused = new RefusedDocument(refusal);
        stop.abort(refused);
        throw refused;
      }
    },
    discard: () => {
      spool.clear();
      plan.rewind();
      element = firstElement[firstElement.length - 1]!;
    },
  };

  const pump = async () => {
    for await (const delivered of client.exportWindowsInto({ from: options.from, to: options.to, timeAxis: 'createdAt' }, sink)) {
      // A batch never spans windows, so a window fetched again takes back only its own sessions.
      if (plan.pending > 0) spool.put(plan.take());
      for (const batch of spool.drain()) {
        await handoff.put(batch, signal);
        // Only here: full collections while the window arrives took 41 s against 38 for 100,000 sessions.
        heap.between(true);
      }
      plan.mark();
      firstElement.push(element);
      options.onWindow?.(delivered.window, delivered.index, delivered.count);
    }
  };

  async function* batches(): AsyncGenerator<ImportPlan> {
    const running = pump().then(
      () => handoff.close(),
      (error: unknown) => handoff.fail(error),
    );
    let finished = false;
    try {
      yield* handoff;
      finished = true;
    } finally {
      // The store stopped early (its own failure): the export stops too, and nothing is left running.
      if (!finished) stop.abort(new Error('the import stopped'));
      await running;
      ledger.close();
      spool.close();
    }
  }

  return { batches: batches(), planner: plan };
}

/**
 * Hands items from a producer that is pushed (the client's sink) to a consumer that pulls (the
 * store's import), one at a time: `put` settles once the consumer has come back for the next item,
 * that is, has finished with this one.
 */
class Handoff<T> implements AsyncIterable<T> {
  private item: { value: T; taken: () => void } | null = null;
  private end: { error: unknown } | 'done' | null = null;
  private wake: (() => void) | null = null;

  put(value: T, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const aborted = () => reject(signal.reason);
      signal.addEventListener('abort', aborted, { once: true });
      this.item = {
        value,
        taken: () => {
          signal.removeEventListener('abort', aborted);
          resolve();
        },
      };
      this.notify();
    });
  }

  close(): void {
    this.end = 'done';
    this.notify();
  }

  fail(error: unknown): void {
    this.end = { error };
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      while (this.item === null && this.end === null) await new Promise<void>((resolve) => (this.wake = resolve));
      if (this.item !== null) {
        const { value, taken } = this.item;
        this.item = null;
        yield value;
        taken();
        continue;
      }
      if (this.end === 'done') return;
      throw this.end!.error;
    }
  }
}
