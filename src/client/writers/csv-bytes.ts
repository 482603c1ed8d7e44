import { isUtf8 } from 'node:buffer';
import { isJsonSpace } from '../json-array-bytes.js';
import { TABLE_NAMES, TABLES, type IdSet, type TableName } from '../tables.js';
import { csvField, readsBackAmbiguously, type CsvOptions } from './csv-text.js';
import { CsvRows, DECLINED, NO_ROOM, type ShapeProgram } from './csv-rows.js';
import { idHash } from './record-hashes.js';

/**
 * The CSV rows of one export document written straight from its JSON bytes, without `JSON.parse`,
 * decoding or encoding: a string's bytes are already its UTF-8 text, so a cell is the bytes between
 * the quotes with JSON's escapes undone, quoted and neutralised by the rules of `csv-text.ts`.
 * Parsing each document into objects, to walk them into rows and encode the rows again, was most of
 * `coachport export --format csv`'s time.
 *
 * This is a fast path, not a second rulebook. A document is first read whole and checked (valid
 * UTF-8, JSON grammar, the shape of `../tables.ts`: an object whose every column is present, arrays
 * of objects for the log, points and to-dos, a list of strings for a point's or to-do's sessions);
 * only then are its rows written. Anything else (a missing or unexpected kind of field, malformed
 * JSON) makes `writeDocument` (`writeLeading`) return false (-1) having written nothing, and the caller parses the document
 * and writes it the ordinary way, which gives the same rows or refuses it as before. Values the
 * byte copy does not cover (numbers, nested values in a column, strings with `\u` escapes, a
 * non-canonical `descriptions`) are parsed one by one and written by `csvField`.
 * `test/csv-bytes.test.ts` holds the two ways to the same bytes.
 *
 * Each document is first offered to csv-rows.wasm (`csv-rows.ts`), these rules in WebAssembly for
 * documents in the key order learned here; what it declines is read here. `test/csv-rows.test.ts`
 * holds it to this module's rows and records.
 */

/** Thrown inside the reader when a document leaves the fast path; never escapes this module. */
const NOT_FAST = new Error('not on the fast path');

// A token: four numbers in `tokens`: its type, two positions and its flags.
const STRING = 1; // the bytes between the quotes, flags as below
const TRUE = 2;
const FALSE = 3;
const NULL = 4;
const PARSED = 5; // a value parsed by JSON.parse, at `values[start]`
const RAW_JSON = 6; // `descriptions` exactly as JSON.stringify writes it: the array's bytes
const ID_LIST = 7; // a list of strings: the first token's index and their count

// A string's flags.
const ESCAPED = 1;
/** Holds `"`, `,`, CR or LF once unescaped: RFC 4180 quotes it. */
const NEEDS_QUOTES = 2;
/** Holds an escape JSON.stringify would not write (`\/`, `\u`). */
const UNUSUAL_ESCAPE = 4;
/** A record's id's flag from csv-rows.wasm: the record's list of sessions is its document's session alone. */
const OWN_ONLY = 16;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const APOSTROPHE = 0x27;
const CR = 0x0d;
const LF = 0x0a;

/** The bytes a string's scan stops at: the closing quote, an escape, a control character, a comma. */
const STRING_BYTE = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) STRING_BYTE[c] = 1;
STRING_BYTE[QUOTE] = 1;
STRING_BYTE[BACKSLASH] = 1;
STRING_BYTE[COMMA] = 1;

/** What the value of a field is read as. */
const COLUMN = 0;
const LOG_LIST = 1;
const POINT_LIST = 2;
const TODO_LIST = 3;
const DESCRIPTIONS = 4;
const IDS = 5;

/** An object's fields: their slots, and the order the server writes them in, learned as it goes. */
class Shape {
  /** Bumped whenever the order learned changes, so csv-rows.wasm is told it again. */
  version = 0;
  readonly width: number;
  readonly bytes: Buffer[];
  readonly slotOf: Map<string, number>;
  readonly read: number[];
  /** The slot expected after each slot (`first`: at the start): keys are compared with it, not decoded. */
  readonly next: Int32Array;
  first = 0;

  constructor(fields: ReadonlyArray<readonly [string, number]>) {
    this.width = fields.length;
    this.bytes = fields.map(([name]) => Buffer.from(name));
    this.slotOf = new Map(fields.map(([name], slot) => [name, slot]));
    this.read = fields.map(([, read]) => read);
    this.next = Int32Array.from(fields, (_, slot) => slot + 1);
  }

  /** csv-rows.wasm's program for this shape: its fields in the order learned, each once (else in column order). */
  program(columns: number, afterPrefix: boolean, idRole: ShapeProgram['idRole']): ShapeProgram {
    const order: number[] = [];
    for (let slot = this.first; order.length < this.width && slot < this.width && !order.includes(slot); slot = this.next[slot]!)
      order.push(slot);
    const slots = order.length === this.width ? order : this.read.map((_, slot) => slot);
    const fields = slots.map((slot, f) => ({
      key: Buffer.from(`${f > 0 ? ',' : ''}"${this.bytes[slot]!.toString()}":`),
      kind: this.read[slot]!,
      column: slot < columns ? slot : 0,
    }));
    return { fields, columns, afterPrefix, idRole };
  }
}

const columns = (names: readonly string[]) => names.map((name) => [name, COLUMN] as const);
const SESSION = new Shape([...columns(TABLES.sessions), ['activityLog', LOG_LIST], ['coachingPoints', POINT_LIST], ['todos', TODO_LIST]]);
// A log row is the session's id, the entry's position, then the entry's own fields in column order.
const LOG = new Shape(TABLES.activity_log.slice(2).map((name) => [name, name === 'descriptions' ? DESCRIPTIONS : COLUMN] as const));
const POINT = new Shape([...columns(TABLES.coaching_points), ['coachingFormIds', IDS]]);
const TODO = new Shape([...columns(TABLES.todos), ['coachingFormIds', IDS]]);
const SESSION_COLUMNS = TABLES.sessions.length;
const POINT_COLUMNS = TABLES.coaching_points.length;
const TODO_COLUMNS = TABLES.todos.length;
/** `_id` is every record's first column. */
const ID = 0;

/** What csv-rows.wasm is told of the shapes, and when it was told last. */
const shapesVersion = () => SESSION.version + LOG.version + POINT.version + TODO.version;
const shapePrograms = (): ShapeProgram[] => [
  SESSION.program(SESSION_COLUMNS, false, 1),
  LOG.program(LOG.width, true, 0),
  POINT.program(POINT_COLUMNS, false, 2),
  TODO.program(TODO_COLUMNS, false, 2),
];
/** After this many documents more declined than written, csv-rows.wasm is no longer tried (a server that writes otherwise). */
const WASM_GRACE = 32;

/** A table's rows as bytes, growing while a document is written so that a document is never cut. */
const ROWS_SIZE = 1 << 18;

class Rows {
  buffer = Buffer.allocUnsafe(ROWS_SIZE);
  length = 0;

  room(bytes: number): Buffer {
    if (this.length + bytes > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    return this.buffer;
  }

  /** Hands the bytes over (they are kept by reference) and starts a new buffer: `spare`, when given. */
  take(spare?: ArrayBuffer): Buffer {
    const bytes = this.buffer.subarray(0, this.length);
    this.buffer = spare ? Buffer.from(spare) : Buffer.allocUnsafe(ROWS_SIZE);
    this.length = 0;
    return bytes;
  }

  append(bytes: Uint8Array): void {
    this.room(bytes.length).set(bytes, this.length);
    this.length += bytes.length;
  }

  /** Text made another way (parsed), encoded after the rows; returns the length after it. */
  text(text: string): number {
    this.length += this.room(text.length * 3).write(text, this.length);
    return this.length;
  }
}

export interface RecordsWritten {
  /** Ids of the points and to-dos written so far: each is written once, with its first session. */
  seen: { points: IdSet; todos: IdSet };
  /**
   * Called for each point or to-do written, with where its row and its link rows lie in the rows
   * not yet handed over (`take`): a writer on another thread leaves the choice of which to keep.
   */
  onRecord(table: RecordTable, id: string, rowStart: number, rowEnd: number, linksStart: number, linksEnd: number): void;
  /** With `leanRecords`: a record written without a look-up, by its id's hashes (record-hashes.ts). */
  onLean(first: number, second: number): void;
}

export type RecordTable = 'coaching_points' | 'todos';

export class CsvBytesTranscoder {
  private readonly rows = Object.fromEntries(TABLE_NAMES.map((t) => [t, new Rows()])) as Record<TableName, Rows>;
  private readonly raw: boolean;
  // The document being read.
  private b: Buffer = Buffer.alloc(0);
  private n = 0;
  private i = 0;
  private tokens = new Int32Array(4096);
  private tokenCount = 0;
  private slots = new Int32Array(1024);
  private slotCount = 0;
  private readonly values: unknown[] = [];
  private readonly logs: number[] = [];
  private readonly points: number[] = [];
  private readonly todos: number[] = [];
  // The string `scanString` read last.
  private start = 0;
  private end = 0;
  /** Documents written from their bytes (by csv-rows.wasm, of those), and those left to the caller: for the tests and the curious. */
  fast = 0;
  wasmWritten = 0;
  declined = 0;
  private readonly flushAt: number;
  /**
   * A record csv-rows.wasm finds listed under its document's session alone is written without a
   * look-up in `seen` and handed to `onLean` by its hashes. Nearly every point and to-do is one, and
   * the look-ups were most of the work the writer did on them; in a consistent export such a record
   * comes once, but a server may send it again (its session twice, the record moved to another
   * session between two windows), so CsvWriter checks the hashes for a record written twice.
   */
  leanRecords = false;
  private readonly hashes = new Int32Array(2);
  /** The WebAssembly path, tried first; null when turned off or once it has declined most documents. */
  private wasm: CsvRows | null;
  private wasmVersion = -1;
  private wasmDeclined = 0;
  /** The bytes copied into csv-rows.wasm's memory, whose ids its records point at. */
  private wasmInput: Buffer | null = null;

  /**
   * `flushRows` is handed a table's rows after a document once they reach `flushAt` bytes (and on
   * `flush`); with `flushAt: Infinity` they wait for `take`.
   */
  constructor(
    private readonly records: RecordsWritten,
    private readonly flushRows: (table: TableName, bytes: Buffer) => void,
    options: CsvOptions & { flushAt?: number; wasm?: boolean } = {},
  ) {
    this.raw = options.raw === true;
    this.flushAt = options.flushAt ?? ROWS_SIZE;
    this.wasm = options.wasm === false ? null : new CsvRows(this.raw);
  }

  /** Copies `bytes` into csv-rows.wasm's memory: false when they do not fit there. */
  private loadWasm(bytes: Buffer): boolean {
    this.moveWasmRows();
    const loaded = this.wasm!.load(bytes);
    this.wasmInput = loaded ? bytes : null;
    return loaded;
  }

  /** Every table's rows not yet handed over, taken from here; buffers for the next rows from `spares` while there are. */
  take(spares: ArrayBuffer[] = []): Record<TableName, Buffer> {
    this.moveWasmRows();
    return Object.fromEntries(TABLE_NAMES.map((t) => [t, this.rows[t].take(spares.pop())])) as Record<TableName, Buffer>;
  }

  /** Rows made another way (parsed), added after those written so far; returns the table's length after them. */
  appendText(table: TableName, text: string): number {
    this.moveWasmRows();
    return this.rows[table].text(text);
  }

  /** How many bytes a table's rows not yet handed over hold. */
  rowsLength(table: TableName): number {
    this.moveWasmRows();
    return this.rows[table].length;
  }

  /** Writes the rows of the document `doc` holds and returns true, or returns false having written nothing. */
  writeDocument(doc: Buffer): boolean {
    return this.write(doc, 0, true) >= 0;
  }

  /**
   * Writes the rows of the document that begins at `at` when it lies whole in `bytes` and returns
   * the index after it, or returns -1 having written nothing (cut short, or not on the fast path).
   * `bytes` are copied once for csv-rows.wasm and read there until other bytes are given: they must
   * not change meanwhile (a chunk or batch of a response, read document after document).
   */
  writeLeading(bytes: Buffer, at: number): number {
    return this.write(bytes, at, false);
  }

  private write(bytes: Buffer, at: number, whole: boolean): number {
    const wasmEnd = this.wasmRead(bytes, at, whole);
    const end = wasmEnd >= 0 ? wasmEnd : this.read(bytes, at);
    if (end < 0 || (whole && end !== bytes.length) || !isUtf8(bytes.subarray(at, end))) {
      if (wasmEnd >= 0) this.wasm!.undo();
      this.declined++;
      return -1;
    }
    if (wasmEnd < 0) {
      this.moveWasmRows();
      this.writeRows();
    }
    // A document's own bytes are not kept: its rows are moved out now; a chunk's, once other bytes come.
    else if (whole) this.moveWasmRows();
    this.fast++;
    for (const table of TABLE_NAMES) if (this.rows[table].length >= this.flushAt) this.flushRows(table, this.rows[table].take());
    return end;
  }

  /** Hands every row written so far to the files, before rows are written another way. */
  flush(): void {
    this.moveWasmRows();
    for (const table of TABLE_NAMES) if (this.rows[table].length > 0) this.flushRows(table, this.rows[table].take());
  }

  /** Drops the rows not yet handed over. */
  discard(): void {
    this.wasm?.clear();
    for (const table of TABLE_NAMES) this.rows[table].length = 0;
  }

  /** The end of the document whose rows csv-rows.wasm wrote, or -1 (not loaded there, or declined). */
  private wasmRead(bytes: Buffer, at: number, whole: boolean): number {
    const wasm = this.wasm;
    if (wasm === null) return -1;
    if ((whole || bytes !== this.wasmInput) && !this.loadWasm(bytes)) return -1;
    if (this.wasmVersion !== shapesVersion()) {
      wasm.program(shapePrograms());
      this.wasmVersion = shapesVersion();
    }
    let end = wasm.document(at);
    if (end === NO_ROOM) {
      this.moveWasmRows();
      end = wasm.document(at);
      while (end === NO_ROOM && wasm.grow()) end = wasm.document(at);
    }
    if (end >= 0) {
      this.wasmWritten++;
      return end;
    }
    if (end === DECLINED && ++this.wasmDeclined > WASM_GRACE + this.wasmWritten) {
      this.moveWasmRows();
      this.wasm = null;
    }
    return -1;
  }

  /**
   * The rows csv-rows.wasm gathered, moved to the tables: each point and to-do as `recordRows` keeps
   * it (runs of records not written before move together, one written before is cut out).
   */
  private moveWasmRows(): void {
    const wasm = this.wasm;
    if (wasm === null || !wasm.pending()) return;
    const bytes = this.wasmInput!;
    this.rows.sessions.append(wasm.output(0));
    this.rows.activity_log.append(wasm.output(1));
    const records = wasm.records();
    // Per record table: where the run of rows not yet moved begins, in the module's memory.
    const runs = { coaching_points: { row: wasm.start(2), link: wasm.start(3) }, todos: { row: wasm.start(4), link: wasm.start(5) } };
    for (let r = 0; r < records.length; r += CsvRows.RECORD_INTS) {
      const points = records[r] === 2;
      const table: RecordTable = points ? 'coaching_points' : 'todos';
      const out = this.rows[table];
      const linkOut = this.rows[points ? 'coaching_point_sessions' : 'todo_sessions'];
      const run = runs[table];
      const rowStart = records[r + 4]!;
      const rowEnd = records[r + 5]!;
      const linksStart = records[r + 6]!;
      const linksEnd = records[r + 7]!;
      const flags = records[r + 3]!;
      if (flags & OWN_ONLY && this.leanRecords) {
        const start = CsvRows.inputIndex(records[r + 1]!);
        // The module hashed the id's bytes, which are its text's unless it holds an escape.
        const escaped = flags & ESCAPED ? this.idText(bytes, start, CsvRows.inputIndex(records[r + 2]!), flags) : null;
        // An id that may read back from the files as another is looked up (CsvWriter reads them back).
        if (!readsBackAmbiguously(escaped === null ? bytes[start]! : escaped.charCodeAt(0))) {
          // Read in place: a view of the two for each of half a million records cost the thread 5% of its CPU.
          if (escaped === null) this.records.onLean(records[r + 8]!, records[r + 9]!);
          else {
            idHash(escaped, this.hashes, 0);
            this.records.onLean(this.hashes[0]!, this.hashes[1]!);
          }
          continue;
        }
      }
      const id = this.idText(bytes, CsvRows.inputIndex(records[r + 1]!), CsvRows.inputIndex(records[r + 2]!), records[r + 3]!);
      const seen = points ? this.records.seen.points : this.records.seen.todos;
      if (seen.has(id)) {
        out.append(wasm.slice(run.row, rowStart));
        linkOut.append(wasm.slice(run.link, linksStart));
        run.row = rowEnd;
        run.link = linksEnd;
        continue;
      }
      seen.add(id);
      const rowAt = out.length - run.row;
      const linkAt = linkOut.length - run.link;
      this.records.onRecord(table, id, rowAt + rowStart, rowAt + rowEnd, linkAt + linksStart, linkAt + linksEnd);
    }
    this.rows.coaching_points.append(wasm.slice(runs.coaching_points.row, wasm.cursor(2)));
    this.rows.coaching_point_sessions.append(wasm.slice(runs.coaching_points.link, wasm.cursor(3)));
    this.rows.todos.append(wasm.slice(runs.todos.row, wasm.cursor(4)));
    this.rows.todo_sessions.append(wasm.slice(runs.todos.link, wasm.cursor(5)));
    wasm.clear();
  }

  // Reading: the whole document into tokens and slots, checked, before any row is written.

  /** Reads the document at `at`: returns the index after it, or -1. */
  private read(bytes: Buffer, at: number): number {
    this.b = bytes;
    this.n = bytes.length;
    this.i = at;
    this.tokenCount = 0;
    this.slotCount = 0;
    this.values.length = 0;
    this.logs.length = 0;
    this.points.length = 0;
    this.todos.length = 0;
    try {
      if (this.b[this.i] !== OPEN_OBJECT) return -1;
      this.object(SESSION);
      return this.complete() ? this.i : -1;
    } catch {
      // NOT_FAST, or anything the parser met that the ordinary way should judge (nesting too deep).
      return -1;
    }
  }

  /** Every column of every record is present, and points' and to-dos' ids are text. */
  private complete(): boolean {
    const filled = (base: number, width: number) => {
      for (let s = base; s < base + width; s++) if (this.slots[s]! < 0) return false;
      return true;
    };
    if (!filled(0, SESSION.width)) return false;
    for (const base of this.logs) if (!filled(base, LOG.width)) return false;
    for (const [list, shape] of [
      [this.points, POINT],
      [this.todos, TODO],
    ] as const) {
      for (const base of list) {
        if (!filled(base, shape.width)) return false;
        const id = this.slots[base + ID]! * 4;
        const type = this.tokens[id];
        if (type !== STRING && !(type === PARSED && typeof this.values[this.tokens[id + 1]!] === 'string')) return false;
      }
    }
    return true;
  }

  private object(shape: Shape): number {
    const base = this.slotCount;
    if (base + shape.width > this.slots.length) {
      const grown = new Int32Array(Math.max(this.slots.length * 2, base + shape.width));
      grown.set(this.slots);
      this.slots = grown;
    }
    this.slots.fill(-1, base, base + shape.width);
    this.slotCount += shape.width;
    this.i++;
    if (this.b[this.i]! <= 0x20) this.space();
    if (this.b[this.i] === CLOSE_OBJECT) {
      this.i++;
      return base;
    }
    let previous = -1;
    for (;;) {
      if (this.b[this.i] !== QUOTE) throw NOT_FAST;
      const expected = previous < 0 ? shape.first : shape.next[previous]!;
      const slot = this.keyInPlace(shape.bytes[expected]) ? expected : this.key(shape, this.scanString());
      if (slot !== expected && slot >= 0) {
        if (previous < 0) shape.first = slot;
        else shape.next[previous] = slot;
        shape.version++;
      }
      if (this.b[this.i]! <= 0x20) this.space();
      if (this.b[this.i] !== COLON) throw NOT_FAST;
      this.i++;
      if (this.b[this.i]! <= 0x20) this.space();
      if (slot < 0) this.skip();
      else {
        this.field(shape.read[slot]!, base + slot);
        previous = slot;
      }
      if (this.b[this.i]! <= 0x20) this.space();
      const c = this.b[this.i];
      this.i++;
      if (c === CLOSE_OBJECT) return base;
      if (c !== COMMA) throw NOT_FAST;
      if (this.b[this.i]! <= 0x20) this.space();
    }
  }

  /**
   * Whether the key at `i` is `name` (then read past it): its bytes and a closing quote. A key's text
   * holds no raw quote, so these bytes are the whole key, with no escape in it.
   */
  private keyInPlace(name: Buffer | undefined): boolean {
    if (name === undefined) return false;
    const b = this.b;
    const from = this.i + 1;
    const length = name.length;
    for (let k = 0; k < length; k++) if (b[from + k] !== name[k]) return false;
    if (b[from + length] !== QUOTE) return false;
    this.i = from + length + 1;
    return true;
  }

  /** The slot of the key just read, or -1 for a field the tables do not hold. */
  private key(shape: Shape, flags: number): number {
    const { b, start, end } = this;
    const key = flags === 0 ? b.toString('utf8', start, end) : (JSON.parse(b.toString('utf8', start - 1, end + 1)) as string);
    return shape.slotOf.get(key) ?? -1;
  }

  private field(read: number, slot: number): void {
    const list = read === LOG_LIST ? this.logs : read === POINT_LIST ? this.points : read === TODO_LIST ? this.todos : null;
    if (list) {
      // Twice the same list: JSON.parse keeps the last; the ordinary way does that.
      if (this.slots[slot]! >= 0) throw NOT_FAST;
      this.objects(read === LOG_LIST ? LOG : read === POINT_LIST ? POINT : TODO, list);
      this.slots[slot] = 0;
    } else if (read === DESCRIPTIONS) this.slots[slot] = this.descriptions();
    else if (read === IDS) this.slots[slot] = this.ids();
    else this.slots[slot] = this.value();
  }

  /** The JSON array at `i`, `element` reading each of its values; returns how many there were. */
  private list(element: () => void): number {
    if (this.b[this.i] !== OPEN_ARRAY) throw NOT_FAST;
    this.i++;
    if (this.b[this.i]! <= 0x20) this.space();
    if (this.b[this.i] === CLOSE_ARRAY) {
      this.i++;
      return 0;
    }
    for (let count = 1; ; count++) {
      element();
      if (this.b[this.i]! <= 0x20) this.space();
      const c = this.b[this.i];
      this.i++;
      if (c === CLOSE_ARRAY) return count;
      if (c !== COMMA) throw NOT_FAST;
      if (this.b[this.i]! <= 0x20) this.space();
    }
  }

  private objects(shape: Shape, into: number[]): void {
    this.list(() => {
      if (this.b[this.i] !== OPEN_OBJECT) throw NOT_FAST;
      into.push(this.object(shape));
    });
  }

  /** A point's or to-do's sessions: a list of strings. */
  private ids(): number {
    const list = this.token(ID_LIST, 0, 0, 0);
    // Its strings are the tokens that follow it.
    const count = this.list(() => {
      if (this.b[this.i] !== QUOTE) throw NOT_FAST;
      this.string();
    });
    this.tokens[list * 4 + 1] = list + 1;
    this.tokens[list * 4 + 2] = count;
    return list;
  }

  /**
   * A log entry's descriptions, written as `JSON.stringify` writes them: their own bytes when they
   * are a list of strings in that form (no space, no `\u` or `\/`), parsed and written again otherwise.
   */
  private descriptions(): number {
    const start = this.i;
    const b = this.b;
    if (b[start] === OPEN_ARRAY) {
      this.i++;
      if (b[this.i] === CLOSE_ARRAY) {
        this.i++;
        return this.token(RAW_JSON, start, this.i, 0);
      }
      while (b[this.i] === QUOTE && (this.scanString() & UNUSUAL_ESCAPE) === 0) {
        const c = b[this.i];
        this.i++;
        if (c === CLOSE_ARRAY) return this.token(RAW_JSON, start, this.i, 0);
        if (c !== COMMA) break;
      }
    }
    this.i = start;
    this.skip();
    return this.parsed(JSON.stringify(JSON.parse(b.toString('utf8', start, this.i))));
  }

  /** A column's value. */
  private value(): number {
    const b = this.b;
    const c = b[this.i];
    if (c === QUOTE) return this.string();
    const at = this.i;
    const literal = c === 0x74 ? TRUE : c === 0x66 ? FALSE : c === 0x6e ? NULL : 0;
    if (literal !== 0) {
      this.literal(literal === TRUE ? 'true' : literal === FALSE ? 'false' : 'null');
      return this.token(literal, at, this.i, 0);
    }
    this.skip();
    return this.parsed(JSON.parse(b.toString('utf8', at, this.i)));
  }

  private string(): number {
    const flags = this.scanString();
    if (flags & UNUSUAL_ESCAPE) return this.parsed(JSON.parse(this.b.toString('utf8', this.start - 1, this.end + 1)));
    return this.token(STRING, this.start, this.end, flags);
  }

  private literal(word: string): void {
    for (let k = 0; k < word.length; k++) if (this.b[this.i + k] !== word.charCodeAt(k)) this.fail(this.i + k);
    this.i += word.length;
  }

  private parsed(value: unknown): number {
    this.values.push(value);
    return this.token(PARSED, this.values.length - 1, 0, 0);
  }

  private token(type: number, start: number, end: number, flags: number): number {
    const t = this.tokenCount++;
    if (t * 4 + 4 > this.tokens.length) {
      const grown = new Int32Array(this.tokens.length * 2);
      grown.set(this.tokens);
      this.tokens = grown;
    }
    this.tokens[t * 4] = type;
    this.tokens[t * 4 + 1] = start;
    this.tokens[t * 4 + 2] = end;
    this.tokens[t * 4 + 3] = flags;
    return t;
  }

  /**
   * Reads the string at `i` (its opening quote) into `start`/`end`, the bytes between the quotes, and
   * returns its flags. Refuses what JSON.parse would: a control character, an unknown escape.
   */
  private scanString(): number {
    const b = this.b;
    const n = this.n;
    let i = this.i + 1;
    const start = i;
    let flags = 0;
    for (;;) {
      // Ordinary text in one table look-up a byte.
      while (i < n && STRING_BYTE[b[i]!] === 0) i++;
      if (i >= n) this.fail(i);
      const c = b[i]!;
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        const e = b[i + 1];
        // " n r need quotes once unescaped; \ b f t do not; / and u are not JSON.stringify's.
        if (e === QUOTE || e === 0x6e || e === 0x72) flags |= ESCAPED | NEEDS_QUOTES;
        else if (e === BACKSLASH || e === 0x62 || e === 0x66 || e === 0x74) flags |= ESCAPED;
        else if (e === 0x2f) flags |= ESCAPED | UNUSUAL_ESCAPE;
        else if (e === 0x75) {
          for (let k = i + 2; k < i + 6; k++) if (!isHex(b[k])) this.fail(k);
          flags |= ESCAPED | UNUSUAL_ESCAPE;
          i += 6;
          continue;
        } else this.fail(i + 1);
        i += 2;
        continue;
      }
      if (c < 0x20) this.fail(i);
      if (c === COMMA) flags |= NEEDS_QUOTES;
      i++;
    }
    this.start = start;
    this.end = i;
    this.i = i + 1;
    return flags;
  }

  /** Leaves the fast path at `at`, noting (`i` at the end) when the bytes ran out rather than went wrong. */
  private fail(at: number): never {
    if (at >= this.n) this.i = this.n;
    throw NOT_FAST;
  }

  /**
   * Where the JSON value at `at` ends: the index after it, or -1 when `bytes` end before it does.
   * Throws a SyntaxError for a value that goes wrong before the end (as JSON.parse would refuse it,
   * but for UTF-8, which is left to the parse).
   */
  valueEnd(bytes: Buffer, at: number): number {
    this.b = bytes;
    this.n = bytes.length;
    this.i = at;
    try {
      this.skip();
      return this.i;
    } catch (error) {
      if (error !== NOT_FAST) throw new SyntaxError(`a document cannot be read: ${(error as Error).message}`);
      if (this.i >= this.n) return -1;
      throw new SyntaxError(`malformed JSON at byte ${this.i - at} of a document`);
    }
  }

  /** Reads past any value, checking its grammar as JSON.parse would. */
  private skip(): void {
    const b = this.b;
    const c = b[this.i];
    if (c === QUOTE) {
      this.scanString();
      return;
    }
    if (c === OPEN_ARRAY) {
      this.list(() => this.skip());
      return;
    }
    if (c === OPEN_OBJECT) {
      this.i++;
      if (this.b[this.i]! <= 0x20) this.space();
      if (b[this.i] === CLOSE_OBJECT) {
        this.i++;
        return;
      }
      for (;;) {
        if (b[this.i] !== QUOTE) throw NOT_FAST;
        this.scanString();
        if (this.b[this.i]! <= 0x20) this.space();
        if (b[this.i] !== COLON) throw NOT_FAST;
        this.i++;
        if (this.b[this.i]! <= 0x20) this.space();
        this.skip();
        if (this.b[this.i]! <= 0x20) this.space();
        const next = b[this.i];
        this.i++;
        if (next === CLOSE_OBJECT) return;
        if (next !== COMMA) throw NOT_FAST;
        if (this.b[this.i]! <= 0x20) this.space();
      }
    }
    if (c === 0x74) this.literal('true');
    else if (c === 0x66) this.literal('false');
    else if (c === 0x6e) this.literal('null');
    else this.number();
  }

  /** -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
  private number(): void {
    const b = this.b;
    let i = this.i;
    if (b[i] === 0x2d) i++;
    if (b[i] === 0x30) i++;
    else if (isDigit(b[i])) while (isDigit(b[i])) i++;
    else this.fail(i);
    if (b[i] === 0x2e) {
      i++;
      if (!isDigit(b[i])) this.fail(i);
      while (isDigit(b[i])) i++;
    }
    if (b[i] === 0x65 || b[i] === 0x45) {
      i++;
      if (b[i] === 0x2b || b[i] === 0x2d) i++;
      if (!isDigit(b[i])) this.fail(i);
      while (isDigit(b[i])) i++;
    }
    this.i = i;
  }

  /** Called where a byte at or below 0x20 was seen: most documents have no whitespace at all. */
  private space(): void {
    const b = this.b;
    while (isJsonSpace(b[this.i])) this.i++;
  }

  // Writing: the rows of the document read, table by table, in the order of `forEachRow`.

  private writeRows(): void {
    const slots = this.slots;
    const sessionId = slots[ID]!;
    let out = this.rows.sessions;
    for (let c = 0; c < SESSION_COLUMNS; c++) {
      if (c > 0) this.byte(out, COMMA);
      this.cell(out, slots[c]!);
    }
    this.lineEnd(out);
    out = this.rows.activity_log;
    for (let position = 0; position < this.logs.length; position++) {
      const base = this.logs[position]!;
      this.cell(out, sessionId);
      this.byte(out, COMMA);
      this.ascii(out, String(position));
      for (let c = 0; c < LOG.width; c++) {
        this.byte(out, COMMA);
        this.cell(out, slots[base + c]!);
      }
      this.lineEnd(out);
    }
    this.recordRows(this.points, POINT_COLUMNS, 'coaching_points', 'coaching_point_sessions', this.records.seen.points);
    this.recordRows(this.todos, TODO_COLUMNS, 'todos', 'todo_sessions', this.records.seen.todos);
  }

  /** Points or to-dos: each not written before, with one link row per session it names. */
  private recordRows(list: number[], width: number, table: RecordTable, links: TableName, seen: IdSet): void {
    const out = this.rows[table];
    const linkOut = this.rows[links];
    for (const base of list) {
      const idToken = this.slots[base + ID]!;
      const id = this.text(idToken);
      if (seen.has(id)) continue;
      seen.add(id);
      const rowStart = out.length;
      const linksStart = linkOut.length;
      for (let c = 0; c < width; c++) {
        if (c > 0) this.byte(out, COMMA);
        this.cell(out, this.slots[base + c]!);
      }
      this.lineEnd(out);
      const list = this.slots[base + width]! * 4;
      const first = this.tokens[list + 1]!;
      const count = this.tokens[list + 2]!;
      for (let position = 0; position < count; position++) {
        this.cell(linkOut, idToken);
        this.byte(linkOut, COMMA);
        this.cell(linkOut, first + position);
        this.byte(linkOut, COMMA);
        this.ascii(linkOut, String(position));
        this.lineEnd(linkOut);
      }
      this.records.onRecord(table, id, rowStart, out.length, linksStart, linkOut.length);
    }
  }

  /** A string token's text (checked to be text by `complete`). */
  private text(t: number): string {
    const tokens = this.tokens;
    if (tokens[t * 4] === PARSED) return this.values[tokens[t * 4 + 1]!] as string;
    return this.idText(this.b, tokens[t * 4 + 1]!, tokens[t * 4 + 2]!, tokens[t * 4 + 3]!);
  }

  /** The text of the string whose bytes between the quotes are `start..end` of `bytes`. */
  private idText(bytes: Buffer, start: number, end: number, flags: number): string {
    return flags & ESCAPED ? (JSON.parse(bytes.toString('utf8', start - 1, end + 1)) as string) : bytes.toString('utf8', start, end);
  }

  private cell(out: Rows, t: number): void {
    const tokens = this.tokens;
    const type = tokens[t * 4];
    const start = tokens[t * 4 + 1]!;
    if (type === STRING) this.stringCell(out, start, tokens[t * 4 + 2]!, tokens[t * 4 + 3]!);
    else if (type === TRUE) this.ascii(out, 'true');
    else if (type === FALSE) this.ascii(out, 'false');
    else if (type === RAW_JSON) this.rawJsonCell(out, start, tokens[t * 4 + 2]!);
    else if (type === PARSED) out.text(csvField(this.values[start] as Parameters<typeof csvField>[0], { raw: this.raw }));
    // NULL: an empty cell.
  }

  /** `csvField` of a string, from its JSON bytes: quoted, its quotes doubled, neutralised when it starts a formula. */
  private stringCell(out: Rows, start: number, end: number, flags: number): void {
    const b = this.b;
    const buffer = out.room(2 * (end - start) + 3);
    let at = out.length;
    if (start === end) {
      buffer[at++] = QUOTE;
      buffer[at++] = QUOTE;
      out.length = at;
      return;
    }
    const first = b[start];
    const second = b[start + 1];
    // = + - @, or an escaped tab or CR: what csv-text.ts's FORMULA_START neutralises.
    const formula =
      !this.raw &&
      (first === 0x3d ||
        first === 0x2b ||
        first === 0x2d ||
        first === 0x40 ||
        (first === BACKSLASH && (second === 0x74 || second === 0x72)));
    const quoted = (flags & NEEDS_QUOTES) !== 0;
    if (quoted) buffer[at++] = QUOTE;
    if (formula) buffer[at++] = APOSTROPHE;
    if (flags & ESCAPED) at = this.unescape(buffer, at, start, end);
    else if (end - start > 32) at += b.copy(buffer, at, start, end);
    else for (let k = start; k < end; k++) buffer[at++] = b[k]!;
    if (quoted) buffer[at++] = QUOTE;
    out.length = at;
  }

  /** JSON's short escapes undone; `\"` becomes RFC 4180's `""` (such a string is always quoted). */
  private unescape(buffer: Buffer, at: number, start: number, end: number): number {
    const b = this.b;
    for (let k = start; k < end; ) {
      const c = b[k]!;
      if (c !== BACKSLASH) {
        buffer[at++] = c;
        k++;
        continue;
      }
      const e = b[k + 1];
      k += 2;
      if (e === QUOTE) {
        buffer[at++] = QUOTE;
        buffer[at++] = QUOTE;
      } else buffer[at++] = e === 0x6e ? LF : e === 0x72 ? CR : e === 0x74 ? 0x09 : e === 0x62 ? 0x08 : e === 0x66 ? 0x0c : BACKSLASH;
    }
    return at;
  }

  /** JSON text as one cell: quoted, every quote doubled (`[]` holds nothing to quote). */
  private rawJsonCell(out: Rows, start: number, end: number): void {
    const b = this.b;
    const buffer = out.room(2 * (end - start) + 2);
    let at = out.length;
    if (end - start === 2) {
      buffer[at++] = OPEN_ARRAY;
      buffer[at++] = CLOSE_ARRAY;
    } else {
      buffer[at++] = QUOTE;
      for (let k = start; k < end; k++) {
        const c = b[k]!;
        buffer[at++] = c;
        if (c === QUOTE) buffer[at++] = QUOTE;
      }
      buffer[at++] = QUOTE;
    }
    out.length = at;
  }

  private ascii(out: Rows, text: string): void {
    const buffer = out.room(text.length);
    for (let k = 0; k < text.length; k++) buffer[out.length++] = text.charCodeAt(k);
  }

  private byte(out: Rows, c: number): void {
    out.room(1)[out.length++] = c;
  }

  private lineEnd(out: Rows): void {
    const buffer = out.room(2);
    buffer[out.length++] = CR;
    buffer[out.length++] = LF;
  }
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}
