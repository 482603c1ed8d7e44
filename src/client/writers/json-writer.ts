import type { ExportSession } from '../../contract/schemas.js';
import { FileSink } from './file-sink.js';
import type { ExportWriter } from './writer.js';

const NEWLINE = Buffer.from('\n');
const FIRST = Buffer.from('\n');
const NEXT = Buffer.from(',\n');

/**
 * One JSON array in the API's shape (`json`), or one session a line (`ndjson`). The file is made
 * (or emptied) only once the export brings something to write: an export refused at its first
 * request (a wrong token, a server that cannot be reached) leaves a file of that name as it was.
 */
export class JsonWriter implements ExportWriter {
  private opened: FileSink | null = null;
  private first: boolean;
  private firstAtCommit: boolean;

  constructor(
    private readonly file: string,
    private readonly ndjson: boolean,
    resumeAt: number | null,
  ) {
    this.first = resumeAt === null || resumeAt <= 1;
    this.firstAtCommit = this.first;
    // Resuming, the file is this export's own already.
    if (resumeAt !== null) this.opened = new FileSink(file, resumeAt);
  }

  private get sink(): FileSink {
    if (this.opened === null) {
      this.opened = new FileSink(this.file, null);
      if (!this.ndjson) {
        this.opened.write('[');
        // Committed at once, so an export stopped in its first window still closes as a valid array.
        this.opened.commit();
      }
    }
    return this.opened;
  }

  write(session: ExportSession): void {
    const text = JSON.stringify(session);
    if (this.ndjson) this.sink.write(`${text}\n`);
    else this.sink.write(this.first ? `\n${text}` : `,\n${text}`);
    this.first = false;
  }

  /**
   * Copied into the file's buffer, not kept by reference until it is written: so the response's
   * memory can go back as soon as each chunk is read (see TextSink.copies), which spares the
   * collections its external memory would set off (a 470 MB export: about a tenth faster, 50 MB
   * less).
   */
  readonly copiesText = true;

  writeText(json: Uint8Array): void {
    if (!this.ndjson) this.sink.writeCopy(this.first ? FIRST : NEXT);
    this.sink.writeCopy(json);
    if (this.ndjson) this.sink.writeCopy(NEWLINE);
    this.first = false;
  }

  commit(): Record<string, number> {
    this.firstAtCommit = this.first;
    return { [this.file]: this.sink.commit() };
  }

  discard(): void {
    this.opened?.rollback();
    this.first = this.firstAtCommit;
  }

  finish({ interrupted }: { interrupted: boolean }): void {
    const sink = this.opened;
    if (sink === null) return;
    if (interrupted) sink.rollback();
    if (!this.ndjson) sink.write('\n]\n');
    sink.close();
  }
}

/**
 * To standard output: no resumption, but the same shapes. Nothing is written before the export
 * brings something, and the array is closed only when the export completes: a reader of a failed or
 * interrupted export sees a cut array, as from the server, never a shorter valid one.
 */
export class StdoutJsonWriter implements ExportWriter {
  private opened = false;
  private first = true;

  constructor(private readonly ndjson: boolean) {}

  private open(): void {
    if (this.opened) return;
    this.opened = true;
    if (!this.ndjson) process.stdout.write('[');
  }

  write(session: ExportSession): void {
    this.open();
    const text = JSON.stringify(session);
    process.stdout.write(this.ndjson ? `${text}\n` : `${this.first ? '\n' : ',\n'}${text}`);
    this.first = false;
  }

  writeText(json: Uint8Array): void {
    this.open();
    process.stdout.write(this.ndjson ? Buffer.concat([json, NEWLINE]) : Buffer.concat([this.first ? FIRST : NEXT, json]));
    this.first = false;
  }

  commit(): Record<string, number> {
    this.open();
    return {};
  }

  finish({ interrupted }: { interrupted: boolean }): void {
    if (interrupted || this.ndjson) return;
    this.open();
    process.stdout.write('\n]\n');
  }
}
