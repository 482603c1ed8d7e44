import type { ExportSession } from '../../contract/schemas.js';
import { forEachRow, type IdSet, type TableName } from '../tables.js';
import { CsvBytesTranscoder, type RecordTable } from './csv-bytes.js';
import { csvRow, type CsvOptions } from './csv-text.js';

/**
 * The CSV rows of a batch of documents, made on a worker thread (`csv-worker.ts`) for
 * `CsvThreads`. Which points and to-dos were written before is known only to the writer, in order,
 * so every record is written here with where its rows lie, and the writer keeps or drops each.
 */

/** A batch: documents' bytes end to end, and where each ends. */
export interface BatchRequest {
  generation: number;
  seq: number;
  bytes: Uint8Array;
  ends: Int32Array;
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
}

export interface BatchRows {
  generation: number;
  seq: number;
  tables: Record<TableName, Uint8Array>;
  records: Record<RecordTable, BatchRecords>;
}

/** A document that is not JSON (or not UTF-8): the export's malformed response. */
export interface BatchFailure {
  generation: number;
  seq: number;
  failure: string;
}

export const LINKS: Record<RecordTable, TableName> = { coaching_points: 'coaching_point_sessions', todos: 'todo_sessions' };

/** Nothing is written before: every record of a batch is written, and the writer chooses. */
const NONE: IdSet = { has: () => false, add: () => undefined };
const TEXT = new TextDecoder('utf-8', { fatal: true });

export class BatchRowMaker {
  private ids: Record<RecordTable, string[]> = { coaching_points: [], todos: [] };
  private ranges: Record<RecordTable, number[]> = { coaching_points: [], todos: [] };
  private readonly rows: CsvBytesTranscoder;

  constructor(private readonly options: CsvOptions) {
    this.rows = new CsvBytesTranscoder(
      {
        seen: { points: NONE, todos: NONE },
        onRecord: (table, id, rowStart, rowEnd, linksStart, linksEnd) => {
          this.ids[table].push(id);
          this.ranges[table].push(rowStart, rowEnd, linksStart, linksEnd);
        },
      },
      () => {
        throw new Error('a batch keeps its rows until taken');
      },
      { ...options, flushAt: Number.POSITIVE_INFINITY },
    );
  }

  /** Throws a SyntaxError (or TypeError, for bytes that are not UTF-8) for a malformed document. */
  make(request: BatchRequest): BatchRows {
    const bytes = Buffer.from(request.bytes.buffer, request.bytes.byteOffset, request.bytes.byteLength);
    let start = 0;
    for (const end of request.ends) {
      const doc = bytes.subarray(start, end);
      if (!this.rows.writeDocument(doc)) this.parsed(doc);
      start = end;
    }
    const records = { coaching_points: this.records('coaching_points'), todos: this.records('todos') };
    this.ids = { coaching_points: [], todos: [] };
    this.ranges = { coaching_points: [], todos: [] };
    return { generation: request.generation, seq: request.seq, tables: this.rows.take(), records };
  }

  private records(table: RecordTable): BatchRecords {
    const ids = this.ids[table];
    const idEnds = new Int32Array(ids.length);
    let end = 0;
    for (let r = 0; r < ids.length; r++) idEnds[r] = end += ids[r]!.length;
    return { ids: ids.join(''), idEnds, ranges: Int32Array.from(this.ranges[table]) };
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
