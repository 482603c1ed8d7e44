import { parentPort, workerData } from 'node:worker_threads';
import { DiskLedger } from './disk-ledger.js';
import { HeapKeeper } from './heap-keeper.js';
import { ImportPlanner } from './plan.js';
import { memoryOf, withDocuments } from './render-batch.js';
import { ImportFileError, readDocuments } from './read-file.js';
import type { FromPlanner, PlanWorkerData, ToPlanner } from './file-batches.js';

/**
 * The import file's reading, parsing and checking, on a thread of its own (file-batches.ts): it
 * sends each batch of planned writes as soon as it is whole and runs at most `ahead` batches ahead
 * of the writer, so the writer's thread only writes and memory holds a few batches, not the file.
 */
const { file, batchSessions, ahead } = workerData as PlanWorkerData;
const port = parentPort!;
let unacknowledged = 0;
let wake: (() => void) | null = null;
port.on('message', (message: ToPlanner) => {
  if (message.type === 'taken') {
    unacknowledged--;
    wake?.();
    wake = null;
  }
});

const send = (message: FromPlanner, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

const heap = new HeapKeeper();

async function sendBatch(planner: ImportPlanner): Promise<void> {
  const plan = withDocuments(planner.take());
  send({ type: 'batch', plan }, memoryOf(plan));
  unacknowledged++;
  // Idle when the writer has all the batches it may have: this thread would wait for it anyway.
  heap.between(unacknowledged >= ahead);
  while (unacknowledged >= ahead) await new Promise<void>((resolve) => (wake = resolve));
}

async function run(): Promise<void> {
  const ledger = new DiskLedger();
  try {
    const planner = new ImportPlanner(undefined, ledger);
    for await (const { element, line, value, bytes, text } of readDocuments(file)) {
      const error = planner.add(value, element, bytes, text);
      if (error) {
        send({ type: 'refused', message: line === null ? error : `Line ${line}: ${error}` });
        return;
      }
      if (planner.pending === batchSessions) await sendBatch(planner);
    }
    if (planner.pending > 0) await sendBatch(planner);
    send({ type: 'done', counts: planner.counts(), halfPairs: planner.halfPairs() });
  } finally {
    ledger.close();
  }
}

run()
  .catch((error: unknown) => {
    if (error instanceof ImportFileError) send({ type: 'not-json', message: error.message });
    else {
      const { message, code, syscall } = error as NodeJS.ErrnoException;
      send({ type: 'failed', message: String(message ?? error), code, syscall });
    }
  })
  .finally(() => port.close());
