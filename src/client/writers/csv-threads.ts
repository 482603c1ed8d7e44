import { Worker } from 'node:worker_threads';
import type { BatchFailure, BatchRequest, BatchRows } from './csv-batch.js';
import type { CsvOptions } from './csv-text.js';

/** About a megabyte of documents a batch: a few hundred, so the threads' messages cost little. */
const BATCH_BYTES = 1 << 20;
/** Batches out at once, a thread: enough to keep each busy, and memory to a few megabytes. */
const AHEAD = 2;

/**
 * CSV rows made on worker threads: documents are gathered into batches in order, each batch's rows
 * are made on a thread (`csv-worker.ts`), and the batches' rows are handed to `merge` in the order
 * of the documents, whichever thread finishes first. Reading the response, splitting it and writing
 * the files stay on the main thread; the rows, most of the work, run beside it.
 */
export class CsvThreads {
  private readonly workers: Worker[];
  private batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
  private length = 0;
  private ends: number[] = [];
  private seq = 0;
  /** The next batch to merge. */
  private next = 0;
  /** Bumped by `discard`: batches of an earlier generation are dropped when they come back. */
  private generation = 0;
  private readonly arrived = new Map<number, BatchRows | BatchFailure>();
  private inFlight = 0;
  private failure: Error | null = null;
  private waiting: Array<() => void> = [];

  constructor(
    count: number,
    options: CsvOptions,
    private readonly merge: (rows: BatchRows) => void,
  ) {
    this.workers = Array.from({ length: count }, () => {
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

  /** Takes a document; the promise, when there is one, holds the response back while the threads are busy. */
  add(doc: Uint8Array): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    if (this.length + doc.byteLength > this.batch.length) {
      this.dispatch();
      if (doc.byteLength > this.batch.length) this.batch = Buffer.allocUnsafeSlow(doc.byteLength);
    }
    this.batch.set(doc, this.length);
    this.length += doc.byteLength;
    this.ends.push(this.length);
    if (this.length >= BATCH_BYTES) this.dispatch();
    if (this.inFlight < this.workers.length * AHEAD) return undefined;
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Resolves once every document taken is merged; rejects with the first failure (a malformed document). */
  async settle(): Promise<void> {
    this.dispatch();
    while (this.inFlight > 0 && !this.failure) await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.failure) throw this.failure;
  }

  /** Forgets every document not yet merged (a window fetched again). */
  discard(): void {
    this.generation++;
    this.length = 0;
    this.ends = [];
    this.arrived.clear();
    this.next = this.seq;
    this.failure = null;
  }

  close(): void {
    for (const worker of this.workers) void worker.terminate();
  }

  private dispatch(): void {
    if (this.ends.length === 0) return;
    const request: BatchRequest = {
      generation: this.generation,
      seq: this.seq,
      bytes: this.batch.subarray(0, this.length),
      ends: Int32Array.from(this.ends),
    };
    this.workers[this.seq % this.workers.length]!.postMessage(request, [
      this.batch.buffer as ArrayBuffer,
      request.ends.buffer as ArrayBuffer,
    ]);
    this.seq++;
    this.inFlight++;
    this.batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
    this.length = 0;
    this.ends = [];
  }

  private returned(message: BatchRows | BatchFailure): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (message.generation === this.generation) {
      this.arrived.set(message.seq, message);
      for (let ready = this.arrived.get(this.next); ready; ready = this.arrived.get(this.next)) {
        this.arrived.delete(this.next++);
        if (this.failure) continue;
        if ('failure' in ready) this.failure = new SyntaxError(ready.failure);
        else {
          try {
            this.merge(ready);
          } catch (error) {
            this.failure = error as Error;
          }
        }
      }
    }
    this.wake();
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
