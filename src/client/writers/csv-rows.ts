import { instantiate, isTrap, WASM_PAGE, type WasmMemory } from '../wasm-module.js';

/**
 * csv-rows.wasm (csv-rows.wat says what it does and how its memory is laid out): documents' rows
 * written from their bytes in WebAssembly, gathered in its memory until `CsvBytesTranscoder` moves
 * them to its tables (once a batch), keeping the choice of which points and to-dos to keep.
 */

/** An object's fields as csv-bytes.ts has learned the server writes them. */
export interface ShapeProgram {
  /** The fields in the response's order: key, how it is read (csv-bytes.ts's kinds), column (for columns). */
  fields: ReadonlyArray<{ key: Buffer; kind: number; column: number }>;
  columns: number;
  /** A log row: its cells come after the session's id and the entry's position. */
  afterPrefix: boolean;
  /** 1 for the session (its id starts each log row), 2 for a point or to-do (its id starts each link row). */
  idRole: 0 | 1 | 2;
}

interface RowsExports {
  memory: WasmMemory;
  document(at: number, end: number): number;
}

const INPUT = 65_536;
/** Past the input: the scan loads sixteen bytes at a time, and may load up to there. */
const SPARE = 64;
/** Six tables, then the records. */
const OUTPUTS = 7;
const RECORDS = 6;
/** What a region keeps free at its end: a copy writes up to 15 bytes past its cell. */
const SLACK = 32;
/** A region's first size: the rows of a megabyte's batch, mostly, before they are moved out. */
const FIRST_ROOM = 1 << 20;
const SHAPES = 1024;
const SHAPE_BYTES = 512;
/** Each object's cells, 16 bytes a column, in 512 bytes (csv-rows.wat: 3072 the session's, 3584 the others'). */
const MOST_COLUMNS = 32;
const KEYS = 4096;
const KEYS_END = 8192;
const FULL = 96;
const RAW = 100;
/** `document`'s answers besides a document's end. */
export const DECLINED = -1;
export const NO_ROOM = -2;

export class CsvRows {
  private readonly wasm = instantiate<RowsExports>(new URL('./csv-rows.wasm', import.meta.url));
  private bytes = Buffer.alloc(0);
  private ints = new Int32Array(0);
  private inputRoom = 0;
  private outputRoom = FIRST_ROOM;
  private length = 0;
  /** The cursors before the last document. */
  private readonly before = new Int32Array(OUTPUTS);

  constructor(raw: boolean) {
    this.layout(0);
    this.ints[RAW / 4] = raw ? 1 : 0;
  }

  /** The shapes, in csv-rows.wat's order: session, log entry, point, to-do. */
  program(shapes: readonly ShapeProgram[]): void {
    let key = KEYS;
    shapes.forEach((shape, s) => {
      if (shape.columns > MOST_COLUMNS) throw new Error('the shapes do not fit csv-rows.wasm');
      const at = (SHAPES + s * SHAPE_BYTES) / 4;
      this.ints.set([shape.fields.length, shape.columns, shape.afterPrefix ? 1 : 0, shape.idRole], at);
      shape.fields.forEach((field, f) => {
        if (key + field.key.length > KEYS_END || 16 + (f + 1) * 16 > SHAPE_BYTES) throw new Error('the shapes do not fit csv-rows.wasm');
        this.bytes.set(field.key, key);
        this.ints.set([key, field.key.length, field.kind, field.column], at + 4 + f * 4);
        key += field.key.length;
      });
    });
  }

  /**
   * The bytes the next documents are read from (copied in), once the rows gathered are moved out;
   * false when the module's memory cannot grow to hold them (then nothing is loaded).
   */
  load(input: Uint8Array): boolean {
    if (this.pending()) throw new Error('csv-rows: rows gathered from the bytes loaded before would be lost');
    if (input.byteLength > this.inputRoom) {
      try {
        this.layout(Math.max(input.byteLength, this.inputRoom * 2));
      } catch {
        this.length = 0;
        return false;
      }
    }
    this.bytes.set(input, INPUT);
    this.length = input.byteLength;
    return true;
  }

  /**
   * Writes the rows of the document at `at` of the input after those gathered: returns where it
   * ends, DECLINED when it is not one this path writes, NO_ROOM when the regions are too full to
   * hold its rows (then with nothing of it kept).
   */
  document(at: number): number {
    this.before.set(this.ints.subarray(0, OUTPUTS));
    try {
      return this.wasm.document(INPUT + at, INPUT + this.length) - INPUT;
    } catch (error) {
      if (!isTrap(error)) throw error;
      this.undo();
      return this.ints[FULL / 4] === 1 ? NO_ROOM : DECLINED;
    }
  }

  /** Drops the rows of the last document written. */
  undo(): void {
    this.ints.set(this.before);
  }

  /** Whether rows are gathered. */
  pending(): boolean {
    for (let t = 0; t < OUTPUTS; t++) if (this.ints[t] !== this.ints[16 + t]) return true;
    return false;
  }

  /** Drops the rows gathered (once moved out). */
  clear(): void {
    this.ints.copyWithin(0, 16, 16 + OUTPUTS);
  }

  /** Makes the regions twice as large, when they are empty; false when the memory cannot grow. */
  grow(): boolean {
    if (this.pending()) return false;
    this.outputRoom *= 2;
    try {
      this.layout(this.inputRoom);
      return true;
    } catch {
      this.outputRoom /= 2;
      return false;
    }
  }

  /** Where output `t`'s region starts, and where its rows gathered end. */
  start(t: number): number {
    return this.ints[16 + t]!;
  }

  cursor(t: number): number {
    return this.ints[t]!;
  }

  /** Output `t`'s rows gathered (a view of the module's memory, valid until the next document). */
  output(t: number): Buffer {
    return this.bytes.subarray(this.start(t), this.cursor(t));
  }

  /** Bytes of the module's memory, for the ranges `records` gives. */
  slice(start: number, end: number): Buffer {
    return this.bytes.subarray(start, end);
  }

  /** The points and to-dos gathered, `RECORD_INTS` numbers each, ids' positions in the input's. */
  records(): Int32Array {
    return this.ints.subarray(this.start(RECORDS) / 4, this.cursor(RECORDS) / 4);
  }

  /** Numbers a record (csv-rows.wat): its table, id's start, end and flags, rows' and link rows' start and end, two hashes. */
  static readonly RECORD_INTS = 10;

  /** Where a record's id lies in the input the documents were loaded from. */
  static inputIndex(address: number): number {
    return address - INPUT;
  }

  /** Places the input and the output regions, growing the memory to hold them. */
  private layout(inputRoom: number): void {
    const memory = this.wasm.memory;
    const first = INPUT + align(inputRoom + SPARE);
    const size = first + OUTPUTS * this.outputRoom;
    if (size > memory.buffer.byteLength) memory.grow(Math.ceil((size - memory.buffer.byteLength) / WASM_PAGE));
    if (this.bytes.buffer !== memory.buffer) {
      this.bytes = Buffer.from(memory.buffer);
      this.ints = new Int32Array(memory.buffer);
    }
    this.inputRoom = inputRoom;
    // Placed anew only while empty: the cursors start at the regions' starts.
    for (let t = 0; t < OUTPUTS; t++) {
      this.ints[t] = first + t * this.outputRoom;
      const start = first + t * this.outputRoom;
      this.ints[16 + t] = start;
      this.ints[8 + t] = start + this.outputRoom - SLACK;
    }
  }
}

const align = (bytes: number) => Math.ceil(bytes / 64) * 64;
