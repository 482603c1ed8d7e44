import { isUtf8 } from 'node:buffer';
import { asBuffer } from '../bytes.js';
import { CanonicalScan } from './canonical-scan.js';

/** One element of the array: its bytes, and whether they are already what `JSON.stringify` would write. */
export interface RawElement {
  bytes: Buffer;
  canonical: boolean;
}

const COMMA = 44;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
/** The most the scan copies in at once. */
const SCAN_SLICE_BYTES = 1 << 20;

/** The elements a `push` completed before the array turned out broken, carried by its error. */
export function completedBefore(error: unknown): RawElement[] {
  const completed = (error as { completedBefore?: unknown } | null)?.completedBefore;
  return Array.isArray(completed) ? (completed as RawElement[]) : [];
}

/** Takes a response's elements as they are split (see RawJsonArraySplitter). */
export interface ElementWriter {
  leading(bytes: Buffer, at: number): number;
  whole(bytes: Buffer): void;
}

/** JSON's whitespace: space, LF, CR, tab. */
export const isJsonSpace = (c: number | undefined): boolean => c === 32 || c === 10 || c === 13 || c === 9;

/**
 * Splits a JSON array arriving as bytes into its elements without parsing them, so a client can
 * copy each document as the server sent it. Strings, escapes and bracket depth find the boundaries
 * and a small grammar check on the way says whether an element is exactly what `JSON.stringify`
 * would write for it (no whitespace, no number, no \u or \/ escape, no integer-like key, valid
 * UTF-8, well formed): canonical-json.wat, run as WebAssembly on a copy of each chunk. Such an
 * element can be copied byte for byte; any other is for the caller to parse (which refuses
 * malformed JSON as before) and write again. Throws on anything that is not one array.
 */
export class RawJsonArraySplitter {
  /**
   * With `check: false` no element is called canonical: for a caller that parses every element
   * anyway (and so refuses malformed JSON itself). The scan is the same either way; the grammar
   * check costs it little next to finding the boundaries.
   *
   * With a `writer` (and `check: false`) every element is handed to it as it comes, in order, and
   * none is returned: an element that begins in a chunk is offered where it begins, before any
   * boundary is looked for (`leading` writes it when it lies whole in the chunk and returns the
   * index after it, or returns -1 having written nothing), so that the writer's own reader finds
   * its end and the bytes are not scanned twice; any other element is split here and given whole.
   */
  constructor(private readonly options: { check: boolean; writer?: ElementWriter } = { check: true }) {
    if (options.writer && options.check) throw new Error('An element writer reads the elements itself: use it with check: false.');
  }

  /** Elements handed to the writer so far. */
  written = 0;
  /** Elements completed so far, returned or written (the index of the one being read). */
  finished = 0;

  /** Whether the array's closing bracket has been read. */
  get closed(): boolean {
    return this.state === 'done';
  }

  /** Bytes held of an element not yet complete. */
  get partialBytes(): number {
    return this.parts.reduce((n, part) => n + part.byteLength, 0);
  }
  private state: 'before' | 'first' | 'between' | 'inside' | 'after' | 'done' = 'before';
  private parts: Uint8Array[] = [];
  /** The boundaries and the grammar check (canonical-json.wat). */
  private readonly scan = new CanonicalScan();

  /**
   * Feeds bytes; returns the elements it completed. Where the array is broken, the error thrown
   * carries the elements completed before it in these bytes (`completedBefore`), so that a reader
   * can look at them first: an earlier element may be what is wrong.
   */
  push(chunk: Uint8Array): RawElement[] {
    const out: RawElement[] = [];
    try {
      // In slices, so that the scan's copy of what it reads stays small whatever it is fed.
      for (let at = 0; at < chunk.byteLength; at += SCAN_SLICE_BYTES) this.pushSlice(chunk.subarray(at, at + SCAN_SLICE_BYTES), out);
    } catch (error) {
      if (error instanceof Error) Object.assign(error, { completedBefore: out });
      throw error;
    }
    return out;
  }

  private pushSlice(chunk: Uint8Array, out: RawElement[]): void {
    this.scan.load(chunk);
    const writer = this.options.writer;
    const bytes = writer ? asBuffer(chunk) : null;
    let start = -1;
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const c = chunk[i]!;
      if (this.state === 'inside') {
        const fresh = start < 0 && this.parts.length === 0;
        if (start < 0) start = i;
        if (fresh && writer) {
          const end = writer.leading(bytes!, i);
          if (end >= 0) {
            this.written++;
            this.finished++;
            start = -1;
            this.state = 'after';
            i = end - 1;
            continue;
          }
        }
        const end = this.scan.scan(i, n);
        if (end === n) break;
        const element = this.finish(chunk, start, end);
        this.finished++;
        if (writer) {
          writer.whole(element.bytes);
          this.written++;
        } else out.push(element);
        start = -1;
        this.state = chunk[end] === COMMA ? 'between' : 'done';
        i = end;
        continue;
      }
      if (isJsonSpace(c)) continue;
      if (this.state === 'after') {
        if (c !== COMMA && c !== CLOSE_ARRAY) throw new SyntaxError('unexpected data after an element of the JSON array');
        this.state = c === COMMA ? 'between' : 'done';
      } else if (this.state === 'before') {
        if (c !== OPEN_ARRAY) throw new SyntaxError('the response is not a JSON array');
        this.state = 'first';
      } else if (this.state === 'first' || this.state === 'between') {
        // After "[" a "]" closes an empty array; after "," an element must follow.
        if (c === CLOSE_ARRAY && this.state === 'first') {
          this.state = 'done';
        } else {
          this.state = 'inside';
          this.scan.begin();
          i--;
        }
      } else {
        throw new SyntaxError('unexpected data after the end of the JSON array');
      }
    }
    // Copied, not kept as a view: once `push` returns, the splitter holds nothing of the chunk, whose
    // memory its reader may then give back (ReadBuffers).
    if (this.state === 'inside' && start >= 0) this.parts.push(Buffer.from(chunk.subarray(start)));
  }

  /** Call at the end of the body: a response cut short is an error, never a shorter array. */
  end(): void {
    if (this.state !== 'done') throw new SyntaxError('the response ended before the JSON array was complete');
  }

  /** The element that ends at `end` of this chunk: one view of the chunk, or the parts it spans joined. */
  private finish(chunk: Uint8Array, start: number, end: number): RawElement {
    let bytes =
      this.parts.length === 0
        ? Buffer.from(chunk.buffer, chunk.byteOffset + start, end - start)
        : Buffer.concat([...this.parts, chunk.subarray(start, end)]);
    this.parts = [];
    let last = bytes.length;
    while (last > 0 && isJsonSpace(bytes[last - 1])) last--;
    if (last < bytes.length) bytes = bytes.subarray(0, last);
    return { bytes, canonical: this.options.check && this.scan.complete() && isUtf8(bytes) };
  }
}
