import { parentPort, workerData } from 'node:worker_threads';
import { BatchRowMaker, type BatchRequest } from './csv-batch.js';
import type { CsvOptions } from './csv-text.js';

/** A thread of `CsvThreads`: makes each batch's rows and hands them back with the batch, their buffers moved, not copied. */
const maker = new BatchRowMaker(workerData as CsvOptions);
parentPort!.on('message', (request: BatchRequest) => {
  const made = maker.make(request);
  const moved = new Set([made.bytes, ...('tables' in made ? Object.values(made.tables) : [])].map((bytes) => bytes.buffer as ArrayBuffer));
  parentPort!.postMessage(made, [...moved]);
});
