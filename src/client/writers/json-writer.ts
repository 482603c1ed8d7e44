import type { ExportSession } from '../../contract/schemas.js';
import { FileSink } from './file-sink.js';
import type { ExportWriter } from './writer.js';

const NEWLINE = Buffer.from('\n');
const FIRST = Buffer.from('\n');
const NEXT = Buffer.from(',\n');

/** One JSON array in the API's shape (`json`), or one session a line (`ndjson`). */
export class JsonWriter implements ExportWriter {
  private readonly sink: FileSink;
  private first: boolean;
  private firstAtCommit: boolean;

  constructor(
    private readonly file: string,
    private readonly ndjson: boolean,
    resumeAt: number | null,
  ) {
    this.sink = new FileSink(file, resumeAt);
    this.first = resumeAt === null || resumeAt <= 1;
    this.firstAtCommit = this.first;
    if (resumeAt === null && !ndjson) {
      this.sink.write('[');
      // Committed at once, so an export stopped in its first window still closes as a valid array.
      this.sink.commit();
    }
  }

  write(session: ExportSession): void {
    const text = JSON.stringify(session);
    if (this.ndjson) this.sink.write(`${text}\n`);
    else this.sink.write(this.first ? `\n${text}` : `,\n${text}`);
    this.first = false;
  }

  writeText(json: Uint8Array): void {
    if (!this.ndjson) this.sink.writeBytes(this.first ? FIRST : NEXT);
    this.sink.writeBytes(json);
    if (this.ndjson) this.sink.writeBytes(NEWLINE);
    this.first = false;
  }

  commit(): Record<string, number> {
    this.firstAtCommit = this.first;
    return { [this.file]: this.sink.commit() };
  }

  discard(): void {
    this.sink.rollback();
    this.first = this.firstAtCommit;
  }

  finish({ interrupted }: { interrupted: boolean }): void {
    if (interrupted) this.sink.rollback();
    if (!this.ndjson) this.sink.write('\n]\n');
    this.sink.close();
  }
}

/** To standard output: no resumption, but the same shapes. */
export class StdoutJsonWriter implements ExportWriter {
  private first = true;

  constructor(private readonly ndjson: boolean) {
    if (!ndjson) process.stdout.write('[');
  }

  write(session: ExportSession): void {
    const text = JSON.stringify(session);
    process.stdout.write(this.ndjson ? `${text}\n` : `${this.first ? '\n' : ',\n'}${text}`);
    this.first = false;
  }

  writeText(json: Uint8Array): void {
    process.stdout.write(this.ndjson ? Buffer.concat([json, NEWLINE]) : Buffer.concat([this.first ? FIRST : NEXT, json]));
    this.first = false;
  }

  commit(): Record<string, number> {
    return {};
  }

  finish(): void {
    if (!this.ndjson) process.stdout.write('\n]\n');
  }
}
