import fs from 'node:fs';
import { RawJsonArraySplitter } from '../client/json-array-bytes.js';

/** One document of an import file: its place in the file and its parsed value. */
export interface FileDocument {
  /** Its index among the file's documents (blank NDJSON lines are not documents). */
  element: number;
  /** Its line, for NDJSON. */
  line: number | null;
  value: unknown;
  /** Its length in the file, in UTF-8 bytes. */
  bytes: number;
}

/** A file that is not JSON where the import reached: the whole import is refused with this message. */
export class ImportFileError extends Error {}

/**
 * The documents of a file holding one JSON array, or NDJSON (one document a line), one at a time,
 * so memory holds one document and the read buffers, whatever the file's size. The array is split
 * at document boundaries by the byte splitter the export client uses, then each element is parsed.
 */
export async function* readDocuments(file: string): AsyncGenerator<FileDocument> {
  const handle = await fs.promises.open(file, 'r');
  let firstChar = '';
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4096), 0, 4096, 0);
    firstChar =
      buffer
        .subarray(0, bytesRead)
        .toString('utf8')
        .replace(/^\uFEFF/, '')
        .trimStart()[0] ?? '';
  } finally {
    await handle.close();
  }
  if (firstChar === '[') {
    yield* arrayDocuments(file);
    return;
  }
  yield* lineDocuments(file);
}

/**
 * NDJSON: lines split on their bytes (a line ends at LF; a CR before it is left out, as for CRLF
 * files), each decoded and parsed on its own. readline, which decodes the whole stream into
 * strings and splits those, cost the reading thread a second more per 100,000 sessions.
 */
async function* lineDocuments(file: string): AsyncGenerator<FileDocument> {
  let lineNumber = 0;
  let element = 0;
  let rest: Buffer | null = null;
  const parse = (bytes: Buffer): FileDocument | null => {
    lineNumber++;
    const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
    const start = lineNumber === 1 && bytes.subarray(0, 3).equals(BOM) ? 3 : 0;
    const line = bytes.toString('utf8', start, end);
    if (line.trim() === '') return null;
    try {
      return { element: element++, line: lineNumber, value: JSON.parse(line), bytes: end - start };
    } catch {
      throw new ImportFileError(`${file} line ${lineNumber} is not valid JSON.`);
    }
  };
  for await (const read of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    const chunk = read as Buffer;
    let start = 0;
    if (rest) {
      // Only the line the last chunk cut is joined, not the whole chunk.
      const newline = chunk.indexOf(0x0a);
      if (newline < 0) {
        rest = Buffer.concat([rest, chunk]);
        continue;
      }
      const document = parse(Buffer.concat([rest, chunk.subarray(0, newline)]));
      rest = null;
      start = newline + 1;
      if (document) yield document;
    }
    for (let newline = chunk.indexOf(0x0a, start); newline >= 0; newline = chunk.indexOf(0x0a, start)) {
      const document = parse(chunk.subarray(start, newline));
      start = newline + 1;
      if (document) yield document;
    }
    if (start < chunk.length) rest = Buffer.from(chunk.subarray(start));
  }
  if (rest) {
    const document = parse(rest);
    if (document) yield document;
  }
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

async function* arrayDocuments(file: string): AsyncGenerator<FileDocument> {
  // Only the boundaries: each element is parsed next, which refuses malformed JSON itself.
  const splitter = new RawJsonArraySplitter({ check: false });
  const notJson = (detail: string) => new ImportFileError(`${file} is not valid JSON: ${detail.replace('the response', 'the file')}.`);
  let element = 0;
  let first = true;
  for await (const read of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    let chunk = read as Buffer;
    if (first && chunk.subarray(0, 3).equals(BOM)) chunk = chunk.subarray(3);
    first = false;
    let elements: ReturnType<RawJsonArraySplitter['push']>;
    try {
      elements = splitter.push(chunk);
    } catch (error) {
      throw notJson(`element ${element}: ${(error as Error).message}`);
    }
    for (const raw of elements) {
      let value: unknown;
      try {
        value = JSON.parse(raw.bytes.toString('utf8'));
      } catch (error) {
        throw notJson(`element ${element}: ${(error as Error).message}`);
      }
      yield { element: element++, line: null, value, bytes: raw.bytes.length };
    }
  }
  try {
    splitter.end();
  } catch (error) {
    throw notJson((error as Error).message);
  }
}
