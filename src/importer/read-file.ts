import fs from 'node:fs';
import readline from 'node:readline';
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
  const lines = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let lineNumber = 0;
  let element = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      lines.close();
      throw new ImportFileError(`${file} line ${lineNumber} is not valid JSON.`);
    }
    yield { element: element++, line: lineNumber, value, bytes: Buffer.byteLength(line) };
  }
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

async function* arrayDocuments(file: string): AsyncGenerator<FileDocument> {
  const splitter = new RawJsonArraySplitter();
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
