import { isUtf8 } from 'node:buffer';

/** One element of the array: its bytes, and whether they are already what `JSON.stringify` would write. */
export interface RawElement {
  bytes: Buffer;
  canonical: boolean;
}

// What the grammar check expects next inside an element.
const VALUE = 0;
const KEY_OR_CLOSE = 1;
const VALUE_OR_CLOSE = 2;
const COLON = 3;
const COMMA_OR_CLOSE = 4;
const KEY = 5;
const DONE = 6;

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;

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

const LITERALS: Record<number, Buffer> = { 116: Buffer.from('true'), 102: Buffer.from('false'), 110: Buffer.from('null') };
/** The bytes that end a run of plain text inside a string: a quote, a backslash, a control character. */
const ENDS_TEXT = new Uint8Array(256);
for (const c of [QUOTE, BACKSLASH, ...Array.from({ length: 0x20 }, (_, i) => i)]) ENDS_TEXT[c] = 1;
/** The escapes JSON.stringify writes itself; \u and \/ are read back as other text, so they are not "canonical". */
const SHORT_ESCAPES = new Set([34, 92, 98, 102, 110, 114, 116]);

/**
 * Splits a JSON array arriving as bytes into its elements without parsing them, so a client can
 * copy each document as the server sent it. Strings, escapes and bracket depth find the boundaries;
 * a small grammar check on the way says whether an element is exactly what `JSON.stringify` would
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
  }

  /** Elements handed to the writer so far. */
  written = 0;
  private state: 'before' | 'first' | 'between' | 'inside' | 'after' | 'done' = 'before';
  private parts: Uint8Array[] = [];
  // Boundary tracking, always exact.
  private depth = 0;
  private inString = false;
  private escaped = false;
  // The grammar check; once it fails the element is only split, not checked.
  private canonical = true;
  private expect = VALUE;
  private objects: boolean[] = [];
  private stringIsKey = false;
  private keyDigitsOnly = false;
  private keyEmpty = true;
  private literal: Buffer | null = null;
  private literalAt = 0;

  /** Feeds bytes; returns the elements it completed. */
  push(chunk: Uint8Array): RawElement[] {
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
        const end = this.options.check ? this.scanChecked(chunk, i) : this.skim(chunk, i);
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
    this.canonical = true;
    this.expect = VALUE;
    this.objects.length = 0;
    this.literal = null;
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
    if (!this.options.check) return { bytes, canonical: false };
    if (this.inString || this.literal !== null || this.expect !== DONE) this.canonical = false;
    return { bytes, canonical: this.canonical && isUtf8(bytes) };
  }

  /**
   * Boundaries and the grammar check, from `from`: where the element ends (the comma or bracket
   * after it), or the chunk's length when it goes on in the next chunk. The state lives in locals
   * while the loop runs and goes back to the fields when it stops: kept in the fields, with the
   * three compares for plain text that ENDS_TEXT replaces, 100 MB of export took 190 ms against
   * 155 (most of a document is short strings, so much of the work is per token).
   */
  private scanChecked(chunk: Uint8Array, from: number): number {
    const n = chunk.length;
    const objects = this.objects;
    let { depth, inString, escaped, canonical, expect, stringIsKey, keyDigitsOnly, keyEmpty, literal, literalAt } = this;
    let i = from;
    for (; i < n; i++) {
      let c = chunk[i]!;
      if (inString) {
        if (!escaped) {
          // Most of a document is text: run through it (for a key, noting whether it is all digits).
          if (!stringIsKey) {
            while (ENDS_TEXT[c] === 0 && ++i < n) c = chunk[i]!;
          } else {
            const keyFrom = i;
            while (ENDS_TEXT[c] === 0) {
              if (c < 48 || c > 57) keyDigitsOnly = false;
              if (++i === n) break;
              c = chunk[i]!;
            }
            if (i > keyFrom) keyEmpty = false;
          }
          if (i === n) break;
        }
        if (escaped) {
          escaped = false;
          if (!SHORT_ESCAPES.has(c)) canonical = false;
          keyDigitsOnly = false;
        } else if (c === BACKSLASH) {
          escaped = true;
        } else if (c === QUOTE) {
          inString = false;
          if (canonical) {
            if (!stringIsKey) {
              expect = objects.length === 0 ? DONE : COMMA_OR_CLOSE;
            } else {
              // V8 puts integer-like keys first, so JSON.parse then JSON.stringify would reorder them.
              if (keyDigitsOnly && !keyEmpty) canonical = false;
              stringIsKey = false;
              expect = COLON;
            }
          }
        } else {
          // A control character, which JSON allows only escaped.
          canonical = false;
        }
        continue;
      }
      if (literal !== null) {
        // Letters never move a boundary, so a literal is only ever checked here.
        if (c === literal[literalAt]) {
          if (++literalAt === literal.length) {
            literal = null;
            expect = objects.length === 0 ? DONE : COMMA_OR_CLOSE;
          }
          continue;
        }
        literal = null;
        canonical = false;
      }
      if (c === QUOTE) {
        inString = true;
        if (!canonical) continue;
        if (expect === KEY || expect === KEY_OR_CLOSE) {
          stringIsKey = true;
          keyDigitsOnly = true;
          keyEmpty = true;
        } else if (expect === VALUE || expect === VALUE_OR_CLOSE) {
          stringIsKey = false;
        } else {
          canonical = false;
        }
      } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        depth++;
        if (!canonical) continue;
        if (expect !== VALUE && expect !== VALUE_OR_CLOSE) {
          canonical = false;
        } else {
          const object = c === OPEN_OBJECT;
          objects.push(object);
          expect = object ? KEY_OR_CLOSE : VALUE_OR_CLOSE;
        }
      } else if ((c === COMMA || c === CLOSE_ARRAY) && depth === 0) {
        break;
      } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        if (depth === 0) throw new SyntaxError('unexpected } in the response');
        depth--;
        if (!canonical) continue;
        const object = c === CLOSE_OBJECT;
        const mayClose = expect === COMMA_OR_CLOSE || expect === (object ? KEY_OR_CLOSE : VALUE_OR_CLOSE);
        if (objects.at(-1) !== object || !mayClose) {
          canonical = false;
        } else {
          objects.pop();
          expect = objects.length === 0 ? DONE : COMMA_OR_CLOSE;
        }
      } else if (c === COMMA) {
        if (!canonical) continue;
        if (expect !== COMMA_OR_CLOSE) canonical = false;
        else expect = objects.at(-1) ? KEY : VALUE;
      } else if (c === 58 /* : */) {
        if (expect === COLON) expect = VALUE;
        else canonical = false;
      } else if (canonical && LITERALS[c] && (expect === VALUE || expect === VALUE_OR_CLOSE)) {
        literal = LITERALS[c]!;
        literalAt = 1;
      } else if (expect !== DONE || !isJsonSpace(c)) {
        // Whitespace after the element, before its comma, is left out of its bytes.
        canonical = false;
      }
    }
    Object.assign(this, { depth, inString, escaped, canonical, expect, stringIsKey, keyDigitsOnly, keyEmpty, literal, literalAt });
    return i;
  }
}
