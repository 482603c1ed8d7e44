import fs from 'node:fs';
import path from 'node:path';
import type { ExportSession } from '../../contract/schemas.js';
import { FileSink } from './file-sink.js';
import { IdTable } from './id-table.js';
import type { ExportWriter } from './writer.js';
import { forEachRow, TABLE_NAMES, TABLES, type Cell, type IdSet, type TableName } from '../tables.js';
import { FetchAgain, OutputError } from '../errors.js';
import { RecordHashes } from './record-hashes.js';
import { csvField, csvRow, readsBackAmbiguously, type CsvOptions } from './csv-text.js';
import { CsvBytesTranscoder, type RecordTable } from './csv-bytes.js';
import { LINKS, type BatchRows } from './csv-batch.js';
import { CsvThreads, type CsvThreadOptions } from './csv-threads.js';
import { asBuffer } from '../../bytes.js';

export { csvField, TABLES };

type Table = TableName;

/** Fatal: bytes that are not UTF-8 are a malformed response, not text to write with replacement characters. */
const TEXT = new TextDecoder('utf-8', { fatal: true });

/** A cell read back from a file written for people: the leading `'` it was given taken off again. */
function unneutralised(text: string): string {
  return /^'[=+\-@\t\r]/.test(text) ? text.slice(1) : text;
}

/**
 * The first field of every record after the header, for rebuilding which ids were written. Read in
 * chunks of `chunkBytes`, not as one string: a table of a large export passes V8's longest string.
 * A record ends at CRLF outside quotes (a quoted field may hold line breaks).
 */
export function firstColumn(file: string, options: CsvOptions = {}, chunkBytes = 4 << 20): string[] {
  const ids: string[] = [];
  const fd = fs.openSync(file, 'r');
  const chunk = Buffer.allocUnsafe(chunkBytes);
  /** The first field's bytes so far (a field may span chunks, a character too). */
  let field: Buffer[] = [];
  let state = 'header' as FieldState;
  let quotedInRest = false;
  let previous = 0;
  const keep = () => {
    const id = Buffer.concat(field).toString('utf8');
    ids.push(options.raw ? id : unneutralised(id));
    field = [];
  };
  try {
    for (let n = fs.readSync(fd, chunk); n > 0; n = fs.readSync(fd, chunk)) {
      // Where the first field's bytes begin in this chunk: at its start when the field began before it.
      let from = inField(state) ? 0 : -1;
      for (let i = 0; i < n; i++) {
        const c = chunk[i]!;
        if (state === 'start') {
          if (c === QUOTE) {
            state = 'quoted';
            from = i + 1;
          } else if (c === COMMA || c === CR) {
            // An empty first field.
            keep();
            state = 'rest';
          } else {
            state = 'plain';
            from = i;
          }
        } else if (state === 'plain') {
          if (c === COMMA || c === CR) {
            field.push(Buffer.from(chunk.subarray(from, i)));
            keep();
            state = 'rest';
          }
        } else if (state === 'quoted') {
          if (c === QUOTE) {
            field.push(Buffer.from(chunk.subarray(from, i)));
            state = 'quote';
          }
        } else if (state === 'quote') {
          // A doubled quote is one quote of the text; anything else ends the field.
          if (c === QUOTE) {
            from = i;
            state = 'quoted';
          } else {
            keep();
            state = 'rest';
          }
        }
        if (state === 'rest' || state === 'header') {
          if (c === QUOTE) quotedInRest = !quotedInRest;
          else if (c === LF && previous === CR && !quotedInRest) state = 'start';
        }
        previous = c;
      }
      // The part of a field this chunk ends inside, copied: the chunk is read into again.
      if (inField(state) && from >= 0) field.push(Buffer.from(chunk.subarray(from, n)));
    }
  } finally {
    fs.closeSync(fd);
  }
  return ids;
}

const [QUOTE, COMMA, CR, LF] = [0x22, 0x2c, 0x0d, 0x0a];
type FieldState = 'header' | 'start' | 'plain' | 'quoted' | 'quote' | 'rest';
/** Reading the first field's bytes, unquoted or between its quotes. */
const inField = (state: FieldState) => state === 'plain' || state === 'quoted';

/**
 * A folder of tables, one row per record keyed by `_id`; a point or to-do linked to several
 * sessions is written once, with one link row per session. Text cells are formula-safe unless
 * `raw` (`--csv-raw`): see csv-text.ts.
 *
 * With `threads`, a response's bytes may be given to `response` instead: the rows are then made on
 * that many worker threads (`CsvThreads`) and written here in order. Otherwise, and for whatever
 * the threads leave to this one, every row is made on this thread.
 */
export class CsvWriter implements ExportWriter {
  private opened: Record<Table, FileSink> | null = null;
  /** Committed with the files, so that a discarded window writes its points and to-dos again when it comes again. */
  private readonly seen = { points: new IdTable(), todos: new IdTable() };
  /** Writes most documents' rows from their bytes; those it declines are parsed (`writeText`). */
  readonly fromBytes: CsvBytesTranscoder;
  /** With threads: the response's bytes go to them (see ExportWriter.response). */
  readonly response?: CsvThreads;
  /**
   * Lean: points and to-dos listed under their document's session alone, nearly all of them, are
   * written without a look-up in `seen` (CsvBytesTranscoder.leanRecords), and every record written
   * is kept by its hashes. Once a response is read whole, `endResponse` looks for a record written
   * twice (a session that came twice, a record listed twice in it, shown under a session its list
   * does not name, or moved between two windows); then the writer stops being lean, reads the ids committed
   * back from the files and has the window fetched again, looking every record up from then on.
   * Only for a caller that calls `endResponse`; resuming, the ids of the earlier run come from the
   * files and every record is looked up.
   */
  private lean = false;
  private readonly hashes = new RecordHashes();
  /** Once no longer lean: the committed files' ids go into `seen` at the next discard. */
  private idsFromFiles = false;
  /** `seen`, keeping the hashes of the records written. */
  private readonly hashedSeen = {
    points: this.hashing(this.seen.points),
    todos: this.hashing(this.seen.todos),
  };
  /** Each row goes to its file as soon as it is made: no table of rows is gathered in between. */
  private readonly writeRow = (table: Table, row: Cell[]) => this.sinks[table].write(csvRow(row, this.options));

  constructor(
    private readonly dir: string,
    resume: Record<string, number> | null,
    private readonly options: CsvOptions = {},
    threads: CsvThreadOptions = { threads: 0 },
    lean = false,
  ) {
    // Resuming, the tables are this export's own already.
    if (resume) this.opened = this.open(resume);
    this.fromBytes = new CsvBytesTranscoder(
      // Which records a discarded window wrote, `seen` knows since its last commit (lean, those looked up).
      {
        seen: this.seen,
        onRecord: (_table, id) => this.lean && this.hashes.addId(id),
        onLean: (first, second) => this.hashes.add(first, second),
      },
      (table, bytes) => this.sinks[table].writeBytes(bytes),
      options,
    );
    if (resume) this.readIds();
    if (threads.threads > 0)
      this.response = new CsvThreads(threads, options, (rows) => this.merge(rows), {
        leading: (bytes, at) => this.writeLeading(bytes, at),
        whole: (bytes) => this.writeText(bytes),
      });
    this.leanRecords(lean && resume === null);
  }

  private leanRecords(lean: boolean): void {
    this.lean = lean;
    this.fromBytes.leanRecords = lean;
    if (this.response) this.response.lean = lean;
  }

  private hashing(ids: IdTable): IdSet {
    return {
      has: (id) => ids.has(id),
      add: (id) => {
        ids.add(id);
        this.hashes.addId(id);
      },
    };
  }

  /**
   * The ids of the points and to-dos in the tables' committed files, into `seen`. `lean`: only those
   * a lean writer may have written without a look-up (`seen` holds the others exactly), which leaves
   * out the ids a file for people holds ambiguously (`readsBackAmbiguously`).
   */
  private readIds(lean = false): void {
    for (const [table, ids] of [['coaching_points', this.seen.points] as const, ['todos', this.seen.todos] as const]) {
      let read: string[];
      try {
        read = firstColumn(this.fileOf(table), this.options);
      } catch (error) {
        throw new OutputError(`Cannot read back ${this.fileOf(table)}: ${(error as Error).message}.`);
      }
      for (const id of read) if (!lean || !readsBackAmbiguously(id.charCodeAt(0))) ids.add(id);
      ids.commit();
    }
  }

  /**
   * The tables, begun (or emptied) only once the export brings something to write, as JsonWriter's
   * file: an export refused at its first request leaves the folder's tables as they were.
   */
  private get sinks(): Record<Table, FileSink> {
    this.opened ??= this.open(null);
    return this.opened;
  }

  private open(resume: Record<string, number> | null): Record<Table, FileSink> {
    const sinks = {} as Record<Table, FileSink>;
    for (const table of TABLE_NAMES) {
      const file = this.fileOf(table);
      const at = resume ? (resume[file] ?? null) : null;
      sinks[table] = new FileSink(file, at);
      if (at === null) {
        sinks[table].write(csvRow([...TABLES[table]], this.options));
        sinks[table].commit();
      }
    }
    return sinks;
  }

  fileOf(table: Table): string {
    return tableFile(this.dir, table);
  }

  /** The tables' files in the folder `dir`. */
  static files(dir: string): string[] {
    return TABLE_NAMES.map((table) => tableFile(dir, table));
  }

  write(s: ExportSession): void {
    this.fromBytes.flush();
    forEachRow(s, this.lean ? this.hashedSeen : this.seen, this.writeRow);
  }

  readonly parsesText = true;

  /**
   * A session's JSON text as the server sent it, with no spool file in between: written from its
   * bytes, or else parsed (once), which also refuses malformed JSON.
   */
  writeText(json: Uint8Array): void {
    if (this.fromBytes.writeDocument(asBuffer(json))) return;
    this.write(JSON.parse(TEXT.decode(json)) as ExportSession);
  }

  writeLeading(bytes: Buffer, at: number): number {
    return this.fromBytes.writeLeading(bytes, at);
  }

  /** A batch's rows from a thread, in order: each point and to-do kept the first time it comes. */
  private merge(rows: BatchRows): void {
    this.fromBytes.flush();
    for (const table of ['sessions', 'activity_log'] as const)
      if (rows.tables[table].byteLength > 0) this.sinks[table].writeCopy(rows.tables[table]);
    this.mergeRecords('coaching_points', rows, this.seen.points);
    this.mergeRecords('todos', rows, this.seen.todos);
    if (rows.leanHashes && this.lean) this.hashes.addAll(rows.leanHashes);
  }

  private mergeRecords(table: RecordTable, rows: BatchRows, written: IdTable): void {
    const { ids, idEnds, ranges, hashes } = rows.records[table];
    const hashed = this.lean ? hashes : null;
    const recordRows = rows.tables[table];
    const linkRows = rows.tables[LINKS[table]];
    // Runs of records not written before go out together; a record written before is cut out.
    let rowFrom = 0;
    let linkFrom = 0;
    const out = (rowTo: number, linkTo: number) => {
      if (rowTo > rowFrom) this.sinks[table].writeCopy(recordRows.subarray(rowFrom, rowTo));
      if (linkTo > linkFrom) this.sinks[LINKS[table]].writeCopy(linkRows.subarray(linkFrom, linkTo));
    };
    let idFrom = 0;
    for (let r = 0; r < idEnds.length; r++) {
      const idTo = idEnds[r]!;
      const added = written.addSlice(ids, idFrom, idTo);
      idFrom = idTo;
      if (added) {
        if (hashed) this.hashes.add(hashed[r * 2]!, hashed[r * 2 + 1]!);
        continue;
      }
      out(ranges[r * 4]!, ranges[r * 4 + 2]!);
      rowFrom = ranges[r * 4 + 1]!;
      linkFrom = ranges[r * 4 + 3]!;
    }
    out(recordRows.byteLength, linkRows.byteLength);
  }

  /** A response read whole: a record written twice has the window fetched again, no longer lean. */
  endResponse(): void {
    this.fromBytes.flush();
    if (!this.lean || !this.hashes.repeats()) return;
    this.leanRecords(false);
    this.idsFromFiles = true;
    throw new FetchAgain('a point or to-do came twice; fetching the window again to write each once');
  }

  commit(): Record<string, number> {
    this.fromBytes.flush();
    this.seen.points.commit();
    this.seen.todos.commit();
    this.hashes.commit();
    return Object.fromEntries(Object.values(this.sinks).map((sink) => [sink.path, sink.commit()]));
  }

  discard(): void {
    this.response?.discard();
    this.fromBytes.discard();
    for (const sink of Object.values(this.opened ?? {})) sink.rollback();
    this.seen.points.rollBack();
    this.seen.todos.rollBack();
    this.hashes.rollBack();
    if (this.idsFromFiles) {
      // Back at the last commit, the files hold exactly the records written before this window.
      this.idsFromFiles = false;
      if (this.opened) this.readIds(true);
    }
  }

  finish({ interrupted }: { interrupted: boolean }): void {
    this.response?.close();
    if (interrupted) this.fromBytes.discard();
    else this.fromBytes.flush();
    for (const sink of Object.values(this.opened ?? {})) {
      if (interrupted) sink.rollback();
      sink.close();
    }
  }
}

const tableFile = (dir: string, table: Table): string => path.join(dir, `${table}.csv`);
