import type { ExportSession } from '../../contract/schemas.js';
import { asBuffer } from '../../bytes.js';
import { isJsonSpace } from '../json-array-bytes.js';
import { forEachRow, type IdSet, type TableName } from '../tables.js';
import { CsvBytesTranscoder, type RecordTable } from './csv-bytes.js';
import { csvRow, type CsvOptions } from './csv-text.js';
import { idHash } from './record-hashes.js';

/**
 * The CSV rows of a batch of documents, made on a worker thread (`csv-worker.ts`) for
 * `CsvThreads`. Which points and to-dos were written before is known only to the writer, in order,
 * so every record is written here with where its rows lie, and the writer keeps or drops each.
 */

/**
 * A batch: a stretch of the response's array between two of its commas (cut where a search found
 * a document boundary, see `CsvThreads`): documents and the commas between them. `last` when the
 * array's closing bracket came right after it.
 */
export interface BatchRequest {
  generation: number;
  seq: number;
  bytes: Uint8Array;
  last: boolean;
  /** Buffers of earlier rows, written and given back, for the next rows (memory used again, not collected). */
  spare: ArrayBuffer[];
  /** Records listed under their document's session alone come back by their hashes only (CsvBytesTranscoder.leanRecords). */
  lean: boolean;
}

export interface BatchRecords {
  /**
   * The records' ids end to end (one string crosses threads far cheaper than one a record), each
   * ending at its `idEnds`; as parsed: text in any valid export (see `BatchRowMaker.parsed`).
   */
  ids: string;
  idEnds: Int32Array;
  /** Four numbers a record: its row's start and end in its table, its link rows' start and end in theirs. */
  ranges: Int32Array;
  /** Asked `lean`: each record's two hashes (record-hashes.ts), for the writer to keep with those it writes. */
  hashes: Int32Array | null;
}

export interface BatchRows {
  generation: number;
  seq: number;
  /** The request's bytes, given back. */
  bytes: Uint8Array;
  documents: number;
  tables: Record<TableName, Uint8Array>;
  records: Record<RecordTable, BatchRecords>;
  /** Asked `lean`: the hashes of the records written without a look-up, two numbers each. */
  leanHashes: Int32Array | null;
}

/**
 * A batch that is not whole documents. `cut`: its last document goes on past its end, so the cut
 * was not a boundary after all (the writer reads from there on one thread). Otherwise the error
 * met (a SyntaxError for malformed JSON, a TypeError with its code for bytes that are not UTF-8),
 * as the writer without threads would have met it.
 */
export interface BatchFailure {
  generation: number;
  seq: number;
  bytes: Uint8Array;
  cut?: true;
  failure?: { name: string; message: string; code?: string };
}

export const LINKS: Record<RecordTable, TableName> = { coaching_points: 'coaching_point_sessions', todos: 'todo_sessions' };

/** Nothing is written before: every record of a batch is written, and the writer chooses. */
const NONE: IdSet = { has: () => false, add: () => undefined };
const TEXT = new TextDecoder('utf-8', { fatal: true });

function space(bytes: Buffer, at: number): number {
  let i = at;
  while (isJsonSpace(bytes[i])) i++;
  return i;
}

export class BatchRowMaker {
  private ids: Record<RecordTable, string[]> = { coaching_points: [], todos: [] };
  private ranges: Record<RecordTable, number[]> = { coaching_points: [], todos: [] };
  private readonly rows: CsvBytesTranscoder;
  /** Row buffers given back by the writer, used for the next batches' rows. */
  private readonly spares: ArrayBuffer[] = [];
  private leanHashes: number[] = [];

  constructor(private readonly options: CsvOptions) {
    this.rows = new CsvBytesTranscoder(
      {
        seen: { points: NONE, todos: NONE },
        onRecord: (table, id, rowStart, rowEnd, linksStart, linksEnd) => {
          this.ids[table].push(id);
          this.ranges[table].push(rowStart, rowEnd, linksStart, linksEnd);
        },
        onLean: (first, second) => this.leanHashes.push(first, second),
      },
      () => {
        throw new Error('a batch keeps its rows until taken');
      },
      { ...options, flushAt: Number.POSITIVE_INFINITY },
    );
  }

  make(request: BatchRequest): BatchRows | BatchFailure {
    const { generation, seq, bytes } = request;
    this.spares.push(...request.spare);
    this.rows.leanRecords = request.lean;
    this.leanHashes = [];
    try {
      const documents = this.documents(asBuffer(request.bytes), request.last);
      if (documents < 0) {
        this.reset();
        return { generation, seq, bytes, cut: true };
      }
      // Taken first: rows still gathered in csv-rows.wasm report their records as they move.
      const tables = this.rows.take(this.spares);
      const records = { coaching_points: this.records('coaching_points'), todos: this.records('todos') };
      const leanHashes = this.rows.leanRecords ? Int32Array.from(this.leanHashes) : null;
      return { generation, seq, bytes, documents, tables, records, leanHashes };
    } catch (error) {
      this.reset();
      const { name, message, code } = error as Error & { code?: string };
      return { generation, seq, bytes, failure: { name, message, code } };
    }
  }

  /** The batch's documents written; returns how many, or -1 when the last goes on past the end. */
  private documents(bytes: Buffer, last: boolean): number {
    const n = bytes.length;
    let documents = 0;
    let i = space(bytes, 0);
    for (;;) {
      let end = i < n ? this.rows.writeLeading(bytes, i) : -1;
      if (end < 0) {
        end = i < n ? this.rows.valueEnd(bytes, i) : -1;
        if (end < 0) {
          if (last) throw new SyntaxError('the response ended before the JSON array was complete');
          return -1;
        }
        this.parsed(bytes.subarray(i, end));
      }
      documents++;
      i = space(bytes, end);
      if (i >= n) return documents;
      if (bytes[i] !== 0x2c) throw new SyntaxError('unexpected data between the documents of the JSON array');
      i = space(bytes, i + 1);
    }
  }

  private reset(): void {
    this.rows.take(this.spares);
    this.ids = { coaching_points: [], todos: [] };
    this.ranges = { coaching_points: [], todos: [] };
  }

  private records(table: RecordTable): BatchRecords {
    const ids = this.ids[table];
    const idEnds = new Int32Array(ids.length);
    let end = 0;
    for (let r = 0; r < ids.length; r++) idEnds[r] = end += ids[r]!.length;
    let hashes: Int32Array | null = null;
    if (this.rows.leanRecords) {
      hashes = new Int32Array(ids.length * 2);
      for (let r = 0; r < ids.length; r++) idHash(ids[r]!, hashes, r * 2);
    }
    const records = { ids: ids.join(''), idEnds, ranges: Int32Array.from(this.ranges[table]), hashes };
    this.ids[table] = [];
    this.ranges[table] = [];
    return records;
  }

  /** A document off the bytes' fast path: parsed, its rows made by `forEachRow`, as without threads. */
  private parsed(doc: Buffer): void {
    const session = JSON.parse(TEXT.decode(doc)) as ExportSession;
    let open: { table: RecordTable; id: string; rowStart: number; rowEnd: number; linksStart: number } | null = null;
    const close = () => {
      if (!open) return;
      this.ids[open.table].push(open.id);
      this.ranges[open.table].push(open.rowStart, open.rowEnd, open.linksStart, this.rows.rowsLength(LINKS[open.table]));
      open = null;
    };
    forEachRow(session, { points: NONE, todos: NONE }, (table, row) => {
      const text = csvRow(row, this.options);
      if (table !== 'coaching_points' && table !== 'todos') {
        this.rows.appendText(table, text);
        return;
      }
      // A record's link rows follow its row: they are its until the next record begins.
      close();
      const rowStart = this.rows.rowsLength(table);
      const rowEnd = this.rows.appendText(table, text);
      open = { table, id: row[0] as string, rowStart, rowEnd, linksStart: this.rows.rowsLength(LINKS[table]) };
    });
    close();
  }
}
