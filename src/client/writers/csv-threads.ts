import { Worker } from 'node:worker_threads';
import { isJsonSpace, RawJsonArraySplitter, type ElementWriter } from '../json-array-bytes.js';
import type { BatchFailure, BatchRequest, BatchRows } from './csv-batch.js';
import type { CsvOptions } from './csv-text.js';

/** About a megabyte of documents a batch: a few hundred, so the threads' messages cost little. */
const BATCH_BYTES = 1 << 20;
/** A batch's buffer: room for a megabyte and the chunk that passes it. */
const BATCH_ROOM = 2 << 20;
/** A stretch this long without a boundary found: the response is read on this thread instead. */
const MOST_BATCH_BYTES = 8 << 20;

/** How many threads, and (for the tests, which cut small responses) how large a batch is. */
export interface CsvThreadOptions {
  threads: number;
  batchBytes?: number;
  mostBatchBytes?: number;
}
/**
 * Batches out at once, a thread: the reading goes on while a thread catches up (the bench's 470 MB
 * on one thread: median 1.63 s with 4, 1.55–1.61 s with 8 or 16), about 16 MB of batches and rows.
 */
const AHEAD = 8;

const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
/** Where one export document ends and the next begins, as this server writes them (see `cutAt`). */
const BOUNDARY = Buffer.from('},{"_id":"');
const SECOND_KEY = Buffer.from('","coachingFormName":');

/**
 * `coachport export --format csv` on worker threads. A response's bytes are cut into batches of
 * about a megabyte where a native search finds a document boundary, each batch's rows are made on a
 * thread (`csv-worker.ts`), and the rows are handed to `merge` in the order of the documents. The
 * main thread only receives, searches, merges and writes: no byte is scanned here in JavaScript.
 *
 * The search is for `},{"_id":"` followed by the id and `,"coachingFormName":`, how a document
 * begins after a comma in this server's responses. Inside a JSON string a quote is escaped, so
 * these bytes are always structure, and no object inside an export document has those two keys
 * first; still, a thread reads each batch exactly, and a batch whose last document runs on past
 * its end (a response shaped otherwise) sends the rest of the response, from that batch on, to
 * `onThisThread`, read by the exact splitter as without threads. So does a response in which no
 * boundary is found within `MOST_BATCH_BYTES` (another server's whitespace or key order).
 */
export class CsvThreads {
  private readonly workers: Worker[];
  // The response being read.
  private state: 'before' | 'first' | 'body' | 'done' = 'before';
  private batch: Buffer;
  private length = 0;
  private searchFrom = 0;
  private exact: RawJsonArraySplitter | null = null;
  private documents = 0;
  // Batches out.
  private seq = 0;
  /** The next batch to merge. */
  private next = 0;
  /** Bumped by `discard`: batches of an earlier generation are dropped when they come back. */
  private generation = 0;
  private readonly arrived = new Map<number, BatchRows | BatchFailure>();
  /** Asks for the hashes, not the ids, of records listed under their document's session alone (CsvBytesTranscoder.leanRecords). */
  lean = false;
  /** The batch sent last, without the array's closing bracket, when it is. */
  private lastSeq: number | null = null;
  /** The batch found cut wrong: merging stops there, and once all are back it is read here. */
  private cutFrom: number | null = null;
  private inFlight = 0;
  private failure: Error | null = null;
  private waiting: Array<() => void> = [];
  /** Buffers back from the threads, used again: batches, and rows once written. */
  private readonly spareBatches: ArrayBuffer[] = [];
  private spareRows: ArrayBuffer[] = [];

  private readonly batchBytes: number;
  private readonly mostBatchBytes: number;
  /** Responses (or their rest) read on this thread: a cut found wrong, or no boundary found. */
  readHereCount = 0;

  constructor(
    threads: CsvThreadOptions,
    options: CsvOptions,
    private readonly merge: (rows: BatchRows) => void,
    private readonly onThisThread: ElementWriter,
  ) {
    this.batchBytes = threads.batchBytes ?? BATCH_BYTES;
    this.mostBatchBytes = threads.mostBatchBytes ?? MOST_BATCH_BYTES;
    this.batch = this.newBatch();
    this.workers = Array.from({ length: threads.threads }, () => {
      const worker = new Worker(new URL('./csv-worker.js', import.meta.url), { workerData: { raw: options.raw === true } });
      worker.on('message', (message: BatchRows | BatchFailure) => this.returned(message));
      worker.on('error', (error) => this.fail(new Error(`the CSV thread failed: ${error.message}`)));
      worker.on('exit', (code) => {
        if (this.inFlight > 0) this.fail(new Error(`the CSV thread stopped (exit code ${code})`));
      });
      worker.unref();
      return worker;
    });
  }

  /** The response's next bytes; the promise, when there is one, holds it back while the threads are busy. */
  push(chunk: Uint8Array): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    if (this.exact) {
      this.exact.push(chunk);
      return undefined;
    }
    let from = 0;
    while (this.state !== 'body' && from < chunk.length) {
      const c = chunk[from++]!;
      if (isJsonSpace(c)) continue;
      if (this.state === 'before') {
        if (c !== OPEN_ARRAY) throw new SyntaxError('the response is not a JSON array');
        this.state = 'first';
      } else if (this.state === 'first') {
        if (c === CLOSE_ARRAY) this.state = 'done';
        else {
          this.state = 'body';
          from--;
        }
      } else throw new SyntaxError('unexpected data after the end of the JSON array');
    }
    if (this.state !== 'body' || from === chunk.length) return this.backPressure();
    this.append(chunk.subarray(from));
    if (this.cutFrom !== null) return this.allBack();
    while (this.length >= this.batchBytes) {
      const cut = this.cutAt();
      if (cut < 0) break;
      const full = this.batch;
      this.batch = this.newBatch(this.length - cut - 2);
      full.copy(this.batch, 0, cut + 2, this.length);
      this.length -= cut + 2;
      this.searchFrom = 0;
      this.send(full.subarray(0, cut + 1), false);
    }
    if (this.length > this.mostBatchBytes) return this.readHere();
    return this.backPressure();
  }

  /** Until the response is read here, each chunk is copied into a batch; read here, its documents go to the writer as views of it. */
  copiedLast(): boolean {
    return this.exact === null;
  }

  /** The response is complete: resolves with its number of documents once all are merged. */
  async end(): Promise<number> {
    if (this.failure) throw this.failure;
    if (!this.exact) {
      if (this.state === 'body') {
        let end = this.length;
        while (end > 0 && isJsonSpace(this.batch[end - 1])) end--;
        if (this.batch[end - 1] !== CLOSE_ARRAY) throw new SyntaxError('the response ended before the JSON array was complete');
        this.length = end - 1;
        if (this.cutFrom === null) {
          const last = this.batch;
          this.batch = this.newBatch();
          this.send(last.subarray(0, end - 1), true);
          this.length = 0;
        } else this.batch[this.length++] = CLOSE_ARRAY;
      } else if (this.state !== 'done') throw new SyntaxError('the response ended before the JSON array was complete');
    }
    while ((this.inFlight > 0 || this.cutFrom !== null) && !this.failure) await this.returnOfOne();
    if (this.failure) throw this.failure;
    this.exact?.end();
    const documents = this.documents + (this.exact?.written ?? 0);
    this.reset();
    return documents;
  }

  /** Forgets the response (a window fetched again): nothing of it not yet merged is. */
  discard(): void {
    this.generation++;
    this.next = this.seq;
    for (const returned of this.arrived.values()) this.recycle(returned);
    this.arrived.clear();
    this.failure = null;
    this.reset();
  }

  close(): void {
    for (const worker of this.workers) void worker.terminate();
  }

  private reset(): void {
    this.state = 'before';
    this.length = 0;
    this.searchFrom = 0;
    this.exact = null;
    this.cutFrom = null;
    this.lastSeq = null;
    this.documents = 0;
  }

  private newBatch(room = 0): Buffer {
    const spare = room <= BATCH_ROOM ? this.spareBatches.pop() : undefined;
    return spare ? Buffer.from(spare) : Buffer.allocUnsafeSlow(Math.max(BATCH_ROOM, room * 2));
  }

  private append(bytes: Uint8Array): void {
    if (this.length + bytes.length > this.batch.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(this.batch.length * 2, this.length + bytes.length));
      this.batch.copy(grown, 0, 0, this.length);
      this.batch = grown;
    }
    this.batch.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** Where, from `batchBytes` on, a document ends and another begins (its `}`), or -1 for none yet. */
  private cutAt(): number {
    const bytes = this.batch.subarray(0, this.length);
    for (let at = bytes.indexOf(BOUNDARY, Math.max(this.batchBytes, this.searchFrom)); at >= 0; at = bytes.indexOf(BOUNDARY, at + 1)) {
      const idEnd = bytes.indexOf(0x22, at + BOUNDARY.length);
      if (idEnd < 0 || idEnd + SECOND_KEY.length > bytes.length) {
        this.searchFrom = at;
        return -1;
      }
      if (bytes.compare(SECOND_KEY, 0, SECOND_KEY.length, idEnd, idEnd + SECOND_KEY.length) === 0) return at;
    }
    this.searchFrom = Math.max(0, bytes.length - BOUNDARY.length);
    return -1;
  }

  /** Sends the batch, its buffer moved to the thread (and back with its rows). */
  private send(bytes: Buffer, last: boolean): void {
    const seq = this.seq++;
    if (last) this.lastSeq = seq;
    const spare = this.spareRows;
    this.spareRows = [];
    const request: BatchRequest = { generation: this.generation, seq, bytes, last, spare, lean: this.lean };
    this.workers[seq % this.workers.length]!.postMessage(request, [bytes.buffer as ArrayBuffer, ...spare]);
    this.inFlight++;
  }

  private backPressure(): Promise<void> | undefined {
    return this.inFlight < this.workers.length * AHEAD ? undefined : this.returnOfOne();
  }

  private returnOfOne(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Resolves once every batch out is back (and the response is then read here), for a wrong cut. */
  private async allBack(): Promise<void> {
    while (this.cutFrom !== null && !this.failure) await this.returnOfOne();
    if (this.failure) throw this.failure;
  }

  private returned(message: BatchRows | BatchFailure): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (message.generation !== this.generation) this.recycle(message);
    else {
      this.arrived.set(message.seq, message);
      for (let ready = this.arrived.get(this.next); ready && !this.failure && this.cutFrom === null; ready = this.arrived.get(this.next)) {
        if (!('tables' in ready) && ready.cut) {
          this.cutFrom = this.next;
          break;
        }
        this.arrived.delete(this.next++);
        try {
          if ('tables' in ready) {
            this.merge(ready);
            this.documents += ready.documents;
          } else this.failure = rebuilt(ready.failure!);
        } catch (error) {
          this.failure = error as Error;
        }
        this.recycle(ready);
      }
      if (this.cutFrom !== null && this.inFlight === 0 && !this.failure) {
        try {
          this.readHereFrom(this.cutFrom);
        } catch (error) {
          // Malformed from there on (or a write that failed): the response's end or next bytes say so.
          this.failure = error as Error;
          this.cutFrom = null;
        }
      }
    }
    this.wake();
  }

  /** A batch's buffers, back from a thread, kept to be used again. */
  private recycle(returned: BatchRows | BatchFailure): void {
    if (returned.bytes.buffer.byteLength === BATCH_ROOM) this.spareBatches.push(returned.bytes.buffer as ArrayBuffer);
    if ('tables' in returned) for (const rows of Object.values(returned.tables)) this.spareRows.push(rows.buffer as ArrayBuffer);
  }

  /** No boundary found: once the batches out are merged, the rest is read on this thread. */
  private async readHere(): Promise<void> {
    while ((this.inFlight > 0 || this.cutFrom !== null) && !this.failure && !this.exact) await this.returnOfOne();
    if (this.failure) throw this.failure;
    if (!this.exact) this.readHereFrom(this.next);
  }

  /**
   * From batch `seq` on (the batches back from the threads after it, then what is not sent yet), the
   * response is read on this thread by the exact splitter; the threads' rows for those are dropped.
   */
  private readHereFrom(seq: number): void {
    const exact = new RawJsonArraySplitter({ check: false, writer: this.onThisThread });
    this.exact = exact;
    this.readHereCount++;
    exact.push(Buffer.from('['));
    let first = true;
    for (let s = seq; s < this.seq; s++) {
      const batch = this.arrived.get(s)!;
      // A batch was cut from the next at a comma, which goes back between them.
      if (!first) exact.push(Buffer.from(','));
      exact.push(batch.bytes);
      // The last batch went without the array's closing bracket.
      if (s === this.lastSeq) exact.push(Buffer.from(']'));
      first = false;
    }
    this.arrived.clear();
    this.next = this.seq;
    this.cutFrom = null;
    if (this.length > 0) {
      if (!first) exact.push(Buffer.from(','));
      exact.push(this.batch.subarray(0, this.length));
      this.batch = this.newBatch();
      this.length = 0;
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.inFlight = 0;
    this.wake();
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }
}

/** A thread's error as the writer without threads would have thrown it (see `BatchFailure`). */
function rebuilt(failure: { name: string; message: string; code?: string }): Error {
  if (failure.name === 'SyntaxError') return new SyntaxError(failure.message);
  const error = failure.name === 'TypeError' ? new TypeError(failure.message) : new Error(failure.message);
  if (failure.code) Object.assign(error, { code: failure.code });
  return error;
}
