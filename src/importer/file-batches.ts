import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import { SEMI_SPACE_FLAG, semiSpaceFlagMb } from '../cli/tuned-process.js';
import { HeapKeeper } from './heap-keeper.js';
import type { countsOf, HalfPairs, ImportPlan } from './plan.js';
import { ImportFileError } from './read-file.js';

/** Sessions a batch carries into the store: large enough that a batch's statements pay, small enough to keep memory flat. */
export const BATCH_SESSIONS = 500;
/**
 * Batches the reading thread may run ahead of the writer: one being written, two ready. The two
 * threads take about as long over a batch, so with one ready either waited for the other at every
 * uneven batch (a collection, a slower document): 100,000 sessions alternated, 22.0–27.1 s with
 * one ready against 20.3–24.1 s with two, at 15–30 MB more at the peak (235 against 252–268 MB).
 * Three or four ready were no faster.
 */
const AHEAD = 3;
/**
 * The reading thread's young generation, set rather than sized by V8 for the machine. Most of what
 * the thread allocates (each parsed document, its checks) is garbage before the batch is sent: with
 * 16 MB it spent a quarter of its time collecting and it was the import's slower thread; 48 MB took
 * 100,000 sessions from 24–25.4 s to 23.0–23.3 s at the same peak (195–199 MB); 96 MB, no faster.
 * Not a limit on what the thread keeps (its old generation is not capped). See `youngGenerationForThread`
 * for the tuned import.
 */
const WORKER_YOUNG_GENERATION_MB = 48;

/**
 * V8 puts a `--max-semi-space-size` flag over a worker's `resourceLimits`, and the tuned import is
 * started with one for its main thread (tuned-process.ts, 1 MB): the thread would get 1 MB
 * semi-spaces too (about 7,000 scavenges for 100,000 sessions). So where the process has the flag
 * at less than the thread's size (a semi-space is a third of a young generation), it is raised to
 * it just before the thread starts; the main thread's heap was sized when the process started and
 * keeps its own. A larger one, a person's own, is left as it is.
 * Measured on 100,000 sessions, alternated: 21.9 and 24.3 s without, 19.9 and 21.1 s with, and the
 * writer waited 3.9–4.6 s for batches instead of 6.5–7.7 s; 20–25 MB more at the peak (234–239 MB).
 * Before the documents crossed encoded (render-batch.ts) the writer was the slower thread and this
 * was no faster.
 */
function youngGenerationForThread(): void {
  const threadMb = WORKER_YOUNG_GENERATION_MB / 3;
  if ((semiSpaceFlagMb(process.execArgv, process.env) ?? threadMb) < threadMb) {
    v8.setFlagsFromString(`${SEMI_SPACE_FLAG}=${threadMb}`);
  }
}

type Counts = ReturnType<typeof countsOf>;

export interface PlanWorkerData {
  file: string;
  batchSessions: number;
  ahead: number;
}

export type FromPlanner =
  | { type: 'batch'; plan: ImportPlan }
  | { type: 'done'; counts: Counts; halfPairs: HalfPairs }
  | { type: 'refused'; message: string }
  | { type: 'not-json'; message: string }
  | { type: 'failed'; message: string; code?: string; syscall?: string };

export type ToPlanner = { type: 'taken' };

/** A refusal of the file's content: nothing is written, and the first bad document is named. */
export class RefusedImport extends Error {}

/** The file's batches of planned writes, and once they are all written, what the whole import wrote. */
export interface FileBatches {
  batches: AsyncIterable<ImportPlan>;
  counts(): Counts;
  /** Documents stored with U+FFFD for half of a surrogate pair (ImportPlanner.halfPairs). */
  halfPairs(): HalfPairs;
}

/**
 * An import file read, parsed and checked on a worker thread (plan-worker.ts) while this thread
 * writes the batches before: on two cores the import takes the longer of the two instead of their
 * sum. The batches arrive in file order; the first bad document ends them with a RefusedImport,
 * a file that is not JSON with an ImportFileError, an unreadable one with its errno error, and
 * `signal`'s abort with its reason, also while waiting for a batch (a pipe that sends nothing). A
 * writer that stops early (its own error) ends the worker.
 */
export function fileBatches(file: string, batchSessions = BATCH_SESSIONS, signal?: AbortSignal): FileBatches {
  let counts: Counts | null = null;
  let halfPairs: HalfPairs = { documents: 0, first: null };
  async function* batches(): AsyncGenerator<ImportPlan> {
    const data: PlanWorkerData = { file, batchSessions, ahead: AHEAD };
    const heap = new HeapKeeper();
    youngGenerationForThread();
    const worker = new Worker(new URL('./plan-worker.js', import.meta.url), {
      workerData: data,
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    const queue: FromPlanner[] = [];
    let failure: Error | null = null;
    let exited = false;
    let wake: (() => void) | null = null;
    const notify = () => {
      wake?.();
      wake = null;
    };
    worker.on('message', (message: FromPlanner) => {
      queue.push(message);
      notify();
    });
    worker.on('error', (error) => {
      failure = error;
      notify();
    });
    worker.on('exit', () => {
      exited = true;
      notify();
    });
    signal?.addEventListener('abort', notify, { once: true });
    try {
      for (;;) {
        signal?.throwIfAborted();
        const message = queue.shift();
        if (!message) {
          if (failure) throw failure;
          if (exited) throw new Error('The import’s reading thread ended without finishing the file.');
          await new Promise<void>((resolve) => (wake = resolve));
          continue;
        }
        switch (message.type) {
          case 'batch':
            yield message.plan;
            // Idle when the reading thread has no batch ready: this thread would wait for it anyway.
            heap.between(queue.length === 0);
            // Written: the reader may start one more.
            worker.postMessage({ type: 'taken' } satisfies ToPlanner);
            break;
          case 'done':
            counts = message.counts;
            halfPairs = message.halfPairs;
            return;
          case 'refused':
            throw new RefusedImport(message.message);
          case 'not-json':
            throw new ImportFileError(message.message);
          case 'failed':
            throw Object.assign(new Error(message.message), { code: message.code, syscall: message.syscall });
        }
      }
    } finally {
      signal?.removeEventListener('abort', notify);
      if (!exited) await worker.terminate();
    }
  }
  return {
    batches: batches(),
    halfPairs: () => halfPairs,
    counts() {
      if (!counts) throw new Error('The import has not finished.');
      return counts;
    },
  };
}
