import { isUtf8 } from 'node:buffer';
import { CanonicalScan } from './canonical-scan.js';

/** One element of the array: its bytes, and whether they are already what `JSON.stringify` would write. */
export interface RawElement {
  bytes: Buffer;
  canonical: boolean;
}

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
/** The most the checking split copies into its scan at once. */
const CHECKED_SLICE_BYTES = 1 << 20;

/** Takes a response's elements as they are split (see RawJsonArraySplitter). */
export interface ElementWriter {
  leading(bytes: Buffer, at: number): number;
  whole(bytes: Buffer): void;
}

/** JSON's whitespace: space, LF, CR, tab. */
export const isJsonSpace = (c: number | undefined): boolean => c === 32 || c === 10 || c === 13 || c === 9;

/** The same bytes as a Buffer, not copied. */
export const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * Splits a JSON array arriving as bytes into its elements without parsing them, so a client can
 * copy each document as the server sent it. Strings, escapes and bracket depth find the boundaries;
 * a small grammar check on the way (canonical-json.wat, run as WebAssembly on a copy of each
 * chunk) says whether an element is exactly what `JSON.stringify` would
 * write for it (no whitespace, no number, no \u or \/ escape, no integer-like key, valid UTF-8,
 * well formed). Such an element can be copied byte for byte; any other is for the caller to parse
 * (which refuses malformed JSON as before) and write again. Throws on anything that is not one array.
 */
export class RawJsonArraySplitter {
  /**
   * With `check: false` only the boundaries are found and no element is called canonical: for a
   * caller that parses every element anyway (and so refuses malformed JSON itself), strings are
   * skipped to their closing quote at once, the grammar check's per-byte bookkeeping left out.
   *
   * With a `writer` (and `check: false`) every element is handed to it as it comes, in order, and
   * none is returned: an element that begins in a chunk is offered where it begins, before any
   * boundary is looked for (`leading` writes it when it lies whole in the chunk and returns the
   * index after it, or returns -1 having written nothing), so that the writer's own reader finds
   * its end and the bytes are not scanned twice; any other element is split here and given whole.
   */
  constructor(private readonly options: { check: boolean; writer?: ElementWriter } = { check: true }) {
    if (options.writer && options.check) throw new Error('An element writer reads the elements itself: use it with check: false.');
    this.checked = options.check ? new CanonicalScan() : null;
  }

  /** Elements handed to the writer so far. */
  written = 0;
  private state: 'before' | 'first' | 'between' | 'inside' | 'after' | 'done' = 'before';
  private parts: Uint8Array[] = [];
  // The boundaries of the unchecked split.
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The checked split's boundaries and grammar check (canonical-json.wat). */
  private readonly checked: CanonicalScan | null;

  /** Feeds bytes; returns the elements it completed. */
  push(chunk: Uint8Array): RawElement[] {
    if (this.checked && chunk.byteLength > CHECKED_SLICE_BYTES) {
      // In slices, so that the scan's copy of what it reads stays small whatever it is fed.
      const out: RawElement[] = [];
      for (let at = 0; at < chunk.byteLength; at += CHECKED_SLICE_BYTES) {
        for (const element of this.push(chunk.subarray(at, at + CHECKED_SLICE_BYTES))) out.push(element);
      }
      return out;
    }
    this.checked?.load(chunk);
    const out: RawElement[] = [];
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
            start = -1;
            this.state = 'after';
            i = end - 1;
            continue;
          }
        }
        const end = this.checked ? this.checked.scan(i, n) : this.skim(chunk, i);
        if (end === n) break;
        const element = this.finish(chunk, start, end);
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
          this.begin();
          i--;
        }
      } else {
        throw new SyntaxError('unexpected data after the end of the JSON array');
      }
    }
    if (this.state === 'inside' && start >= 0) this.parts.push(chunk.subarray(start));
    return out;
  }

  /** Call at the end of the body: a response cut short is an error, never a shorter array. */
  end(): void {
    if (this.state !== 'done') throw new SyntaxError('the response ended before the JSON array was complete');
  }

  /**
   * Boundaries only, from `i`: where the element ends (the comma or bracket after it), or the
   * chunk's length when it goes on in the next chunk. A quote ends a string unless an odd run of
   * backslashes stands before it; a backslash that ends a chunk escapes the next one's first byte.
   */
  private skim(chunk: Uint8Array, i: number): number {
    const n = chunk.length;
    while (i < n) {
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          i++;
          continue;
        }
        // Keys and most values are short: a few bytes are looked at here before indexOf, a call that costs more.
        let quote = i;
        const near = Math.min(n, i + 24);
        while (quote < near && chunk[quote] !== QUOTE) quote++;
        if (quote === near) quote = near === n ? -1 : chunk.indexOf(QUOTE, near);
        let run = quote < 0 ? n : quote;
        while (run > i && chunk[run - 1] === BACKSLASH) run--;
        const backslashes = (quote < 0 ? n : quote) - run;
        if (quote < 0) {
          this.escaped = backslashes % 2 === 1;
          return n;
        }
        if (backslashes % 2 === 0) this.inString = false;
        i = quote + 1;
        continue;
      }
      const c = chunk[i]!;
      if (c === QUOTE) {
        this.inString = true;
      } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        this.depth++;
      } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        if (this.depth === 0) {
          if (c === CLOSE_ARRAY) return i;
          throw new SyntaxError('unexpected } in the response');
        }
        this.depth--;
      } else if (c === COMMA && this.depth === 0) {
        return i;
      }
      i++;
    }
    return n;
  }

  private begin(): void {
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.checked?.begin();
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
    return { bytes, canonical: this.checked?.complete() === true && isUtf8(bytes) };
  }
}
