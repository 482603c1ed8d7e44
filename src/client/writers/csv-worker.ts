import { parentPort, workerData } from 'node:worker_threads';
import { BatchRowMaker, type BatchFailure, type BatchRequest, type BatchRows } from './csv-batch.js';
import type { CsvOptions } from './csv-text.js';

/** A thread of `CsvThreads`: makes each batch's rows and hands them back, their buffers moved, not copied. */
const maker = new BatchRowMaker(workerData as CsvOptions);
parentPort!.on('message', (request: BatchRequest) => {
  let rows: BatchRows;
  try {
    rows = maker.make(request);
  } catch (error) {
    const failure: BatchFailure = { generation: request.generation, seq: request.seq, failure: (error as Error).message };
    parentPort!.postMessage(failure);
    return;
  }
  const buffers = new Set<ArrayBuffer>(Object.values(rows.tables).map((bytes) => bytes.buffer as ArrayBuffer));
  parentPort!.postMessage(rows, [...buffers]);
});
