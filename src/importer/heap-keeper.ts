import v8 from 'node:v8';
import vm from 'node:vm';

/** What the heap may grow by, past what the last full collection left, before the next one. */
const SLACK_BYTES = 32 * 1024 * 1024;

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
 * heap has grown by SLACK_BYTES past what the last collection left, this collects it in full:
 * a few milliseconds for the tens of megabytes an import holds, every few batches. It caps nothing:
 * whatever the import really needs (its id ledger grows with the file) stays, and the next
 * collection waits until the heap has grown by the slack again.
 */
export class HeapKeeper {
  private limit = v8.getHeapStatistics().used_heap_size + SLACK_BYTES;

  between(): void {
    if (v8.getHeapStatistics().used_heap_size < this.limit) return;
    fullCollection()();
    this.limit = v8.getHeapStatistics().used_heap_size + SLACK_BYTES;
  }
}
