import v8 from 'node:v8';
import vm from 'node:vm';

/** What the heap may grow by, past what the last full collection left, before the next one. */
const SLACK_BYTES = 16 * 1024 * 1024;
/** The same while the thread has work waiting: a collection then delays the other thread too. */
const BUSY_SLACK_BYTES = 32 * 1024 * 1024;

let collect: (() => void) | null = null;

/** V8's full collection, as `--expose-gc` gives it, taken at run time for the import only. */
function fullCollection(): () => void {
  if (!collect) {
    v8.setFlagsFromString('--expose-gc');
    collect = vm.runInNewContext('gc') as () => void;
  }
  return collect;
}

/**
 * Keeps a long import's heap near what it really holds. V8 sizes its heap for the machine (on a
 * large one it lets the old generation reach hundreds of megabytes before its first full
 * collection), so an import whose batches each leave tens of megabytes of garbage behind grew to
 * several times its live data, in each of its two threads. Between batches (`between`), once the
 * heap has grown by SLACK_BYTES past what the last collection left, this collects it in full (tens
 * of milliseconds for the 20 to 50 MB an import's thread holds), preferably while the thread would wait for
 * the other anyway (`idle`): a thread with work waiting lets its heap grow by BUSY_SLACK_BYTES first.
 * It caps nothing: whatever the import really needs stays, and the next collection waits until the
 * heap has grown by the slack again. The slacks were measured on a 100,000-session import: 32 and
 * 96 MB peaked 70 MB higher than 16 and 32, at the same speed within the machine's noise.
 */
export class HeapKeeper {
  private live = v8.getHeapStatistics().used_heap_size;

  between(idle: boolean): void {
    const used = v8.getHeapStatistics().used_heap_size;
    if (used < this.live + (idle ? SLACK_BYTES : BUSY_SLACK_BYTES)) return;
    fullCollection()();
    this.live = v8.getHeapStatistics().used_heap_size;
  }
}
