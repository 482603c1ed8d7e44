/**
 * Gives back the memory of a plain response's chunks once a reader has copied them. `node:http`
 * hands the body over in chunks of memory of their own (a socket read's), counted as external
 * memory, which starts a full collection of the heap every few tens of megabytes: nine to eleven
 * while 470 MB are merely read, fourteen in a CSV export of them (docs/performance.md). Chunks come
 * in order, so once a chunk in other memory arrives, the memory before has been read whole: it goes
 * back then, and the last when the response has ended, but only if every one of its bytes came in
 * chunks the reader copied. Memory with a byte the reader never saw (a read's header, a pool shared
 * with other buffers) or kept by reference is left to the garbage collector. Only for chunks that
 * nothing else holds (`HttpAnswer.readsOwned`): not gzip's output, which its stream fills again.
 */
export class ReadBuffers {
  private current: ArrayBuffer | null = null;
  private copied = true;
  private seen = 0;

  /** `chunk` has been read; `copied`: the reader kept no view of it. */
  read(chunk: Uint8Array, copied: boolean): void {
    if (chunk.buffer !== this.current) {
      this.release();
      if (!(chunk.buffer instanceof ArrayBuffer)) return;
      this.current = chunk.buffer;
      this.copied = copied;
      this.seen = chunk.byteLength;
    } else {
      this.copied &&= copied;
      this.seen += chunk.byteLength;
    }
  }

  /** The response has ended and its last chunk was read: its memory goes back too. */
  release(): void {
    const memory = this.current;
    if (memory && this.copied && this.seen === memory.byteLength && !memory.detached) memory.transfer(0);
    this.current = null;
  }
}
