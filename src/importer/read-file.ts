import { isUtf8 } from 'node:buffer';
import fs from 'node:fs';
import net from 'node:net';
import { completedBefore, isJsonSpace, RawJsonArraySplitter } from '../client/json-array-bytes.js';
import { groupedDigits } from '../digits.js';

/** One document of an import file: its place in the file and its parsed value. */
export interface FileDocument {
  /** Its index among the file's documents (blank NDJSON lines are not documents). */
  element: number;
  /** Its line, for NDJSON. */
  line: number | null;
  value: unknown;
  /** Its length in the file, in UTF-8 bytes. */
  bytes: number;
  /** Its text in the file. */
  text: Buffer;
}

/** A file that is not JSON where the import reached: the whole import is refused with this message. */
export class ImportFileError extends Error {}

/**
 * The most bytes one document may take in a file. A stored document is at most 2,000,000 bytes
 * (SESSION_LIMITS); a file's text of it may be longer (indented, escaped), but not eight times:
 * a longer one is refused as it is read, before memory holds it.
 */
export const MAX_FILE_DOCUMENT_BYTES = 16 * 1024 * 1024;

const READ_BYTES = 1 << 20;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const OPEN_ARRAY = 0x5b;
/** The first bytes of a gzip stream (RFC 1952), which no JSON text begins with. */
const GZIP = Buffer.from([0x1f, 0x8b]);

/**
 * The documents of a file holding one JSON array, or NDJSON (one document a line), one at a time,
 * so memory holds one document and the read buffers, whatever the file's size. The form is told by
 * the first byte that is not whitespace, read from the stream itself, so a pipe (`/dev/stdin`,
 * `<(zcat sessions.ndjson.gz)`) imports as a file does. The array is split at document boundaries
 * by the byte splitter the export client uses, then each element is parsed. Text that is not UTF-8
 * is refused, never decoded with replacement characters.
 */
export async function* readDocuments(file: string): AsyncGenerator<FileDocument> {
  const stream = await readable(file);
  const reads = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let first: number | undefined;
  try {
    while (first === undefined) {
      const next = await reads.next();
      if (next.done) break;
      let chunk = next.value;
      const read = head.reduce((n, c) => n + c.length, 0);
      if (read < BOM.length) {
        // The byte-order mark may come split over the first reads of a pipe.
        chunk = Buffer.concat([...head.splice(0), chunk]);
        if (chunk.length < BOM.length) {
          head.push(chunk);
          continue;
        }
        if (chunk.subarray(0, BOM.length).equals(BOM)) chunk = chunk.subarray(BOM.length);
      }
      head.push(chunk);
      first = chunk.find((c) => !isJsonSpace(c));
    }
    // A file shorter than the mark (`[]`) ends the reads above while still held back.
    first ??= head[0]?.find((c) => !isJsonSpace(c));
    if (head[0]?.subarray(0, GZIP.length).equals(GZIP)) {
      throw new ImportFileError(`${file} is gzip-compressed: import what it holds, such as coachport import <(zcat ${file}).`);
    }
    const chunks = (async function* () {
      yield* head;
      for (let next = await reads.next(); !next.done; next = await reads.next()) yield next.value;
    })();
    yield* first === OPEN_ARRAY ? arrayDocuments(file, chunks) : lineDocuments(file, chunks);
  } finally {
    stream.destroy();
  }
}

/**
 * The file's bytes as a stream. A pipe (`<(zcat …)`, `/dev/stdin` from a pipe) is read as a socket
 * once a writer has it open: libuv reads a socket when it has bytes, while a file stream's read of a
 * pipe that sends nothing blocks a thread of the pool, which an interrupted import, and the process
 * with it, would wait on until the pipe sent more or closed.
 */
async function readable(file: string): Promise<NodeJS.ReadableStream & { destroy(): void }> {
  const stats = await fs.promises.stat(file);
  // Standard input that is a socket (a parent process's `spawn` with a pipe, some ssh and systemd
  // setups): Linux refuses to open it again by its name (ENXIO), so its descriptor is read as it is.
  const inherited = inheritedDescriptor(file);
  if (stats.isSocket() && inherited !== null) return new net.Socket({ fd: inherited, readable: true, writable: false });
  if (!stats.isFIFO()) return fs.createReadStream(file, { highWaterMark: READ_BYTES });
  // A raw descriptor, which the socket owns (a FileHandle would close it again when collected).
  const fd = await new Promise<number>((resolve, reject) =>
    fs.open(file, 'r', (error, opened) => (error ? reject(error) : resolve(opened))),
  );
  return new net.Socket({ fd, readable: true, writable: false });
}

/** The descriptor a name such as `/dev/stdin` or `/dev/fd/3` stands for, or null for any other file. */
export function inheritedDescriptor(file: string): number | null {
  if (file === '/dev/stdin') return 0;
  const match = /^\/(?:dev\/fd|proc\/self\/fd)\/(\d+)$/.exec(file);
  return match ? Number(match[1]) : null;
}

const tooLarge = (what: string) =>
  new ImportFileError(`${what} is longer than ${groupedDigits(MAX_FILE_DOCUMENT_BYTES)} bytes, more than any document can be.`);

/**
 * NDJSON: lines split on their bytes (a line ends at LF; a CR before it is left out, as for CRLF
 * files), each decoded and parsed on its own. readline, which decodes the whole stream into
 * strings and splits those, cost the reading thread a second more per 100,000 sessions.
 */
async function* lineDocuments(file: string, chunks: AsyncIterable<Buffer>): AsyncGenerator<FileDocument> {
  let lineNumber = 0;
  let element = 0;
  /** The start of a line a chunk cut, in parts (joined once, when its end comes). */
  let rest: Buffer[] = [];
  let restBytes = 0;
  const parse = (bytes: Buffer): FileDocument | null => {
    lineNumber++;
    const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
    const text = bytes.subarray(0, end);
    if (!isUtf8(text)) throw new ImportFileError(`${file} line ${lineNumber} is not UTF-8 text.`);
    const line = text.toString('utf8');
    if (line.trim() === '') return null;
    try {
      return { element: element++, line: lineNumber, value: JSON.parse(line), bytes: end, text };
    } catch {
      throw new ImportFileError(`${file} line ${lineNumber} is not valid JSON.`);
    }
  };
  for await (const chunk of chunks) {
    let start = 0;
    if (restBytes > 0) {
      // Only the line the last chunk cut is joined, not the whole chunk.
      const newline = chunk.indexOf(0x0a);
      const taken = newline < 0 ? chunk.length : newline;
      if (restBytes + taken > MAX_FILE_DOCUMENT_BYTES) throw tooLarge(`${file} line ${lineNumber + 1}`);
      if (newline < 0) {
        rest.push(Buffer.from(chunk));
        restBytes += chunk.length;
        continue;
      }
      const document = parse(Buffer.concat([...rest, chunk.subarray(0, newline)]));
      rest = [];
      restBytes = 0;
      start = newline + 1;
      if (document) yield document;
    }
    for (let newline = chunk.indexOf(0x0a, start); newline >= 0; newline = chunk.indexOf(0x0a, start)) {
      const document = parse(chunk.subarray(start, newline));
      start = newline + 1;
      if (document) yield document;
    }
    if (start < chunk.length) {
      if (chunk.length - start > MAX_FILE_DOCUMENT_BYTES) throw tooLarge(`${file} line ${lineNumber + 1}`);
      rest = [Buffer.from(chunk.subarray(start))];
      restBytes = chunk.length - start;
    }
  }
  if (restBytes > 0) {
    const document = parse(Buffer.concat(rest));
    if (document) yield document;
  }
}

async function* arrayDocuments(file: string, chunks: AsyncIterable<Buffer>): AsyncGenerator<FileDocument> {
  // Only the boundaries: each element is parsed next, which refuses malformed JSON itself.
  const splitter = new RawJsonArraySplitter({ check: false });
  const notJson = (detail: string) => new ImportFileError(`${file} is not valid JSON: ${detail.replace('the response', 'the file')}.`);
  /** The element the splitter was reading when it refused, or none once the array had closed. */
  const where = (message: string) => (splitter.closed ? message : `element ${splitter.finished}: ${message}`);
  let element = 0;
  for await (const chunk of chunks) {
    let elements: ReturnType<RawJsonArraySplitter['push']>;
    let broken: ImportFileError | null = null;
    try {
      elements = splitter.push(chunk);
    } catch (error) {
      // The elements before the break go first: the first bad document may be one of them.
      broken = notJson(where((error as Error).message));
      elements = completedBefore(error);
    }
    if (broken === null && splitter.partialBytes > MAX_FILE_DOCUMENT_BYTES) broken = tooLarge(`${file} element ${splitter.finished}`);
    for (const raw of elements) {
      if (raw.bytes.length > MAX_FILE_DOCUMENT_BYTES) throw tooLarge(`${file} element ${element}`);
      if (!isUtf8(raw.bytes)) throw new ImportFileError(`${file} element ${element} is not UTF-8 text.`);
      let value: unknown;
      try {
        value = JSON.parse(raw.bytes.toString('utf8'));
      } catch (error) {
        throw notJson(`element ${element}: ${(error as Error).message}`);
      }
      yield { element: element++, line: null, value, bytes: raw.bytes.length, text: raw.bytes };
    }
    if (broken) throw broken;
  }
  try {
    splitter.end();
  } catch (error) {
    throw notJson((error as Error).message);
  }
}
