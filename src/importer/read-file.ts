import fs from 'node:fs';
import readline from 'node:readline';

/** Documents from a file holding one JSON array, or NDJSON (one document a line). */
export async function readDocuments(file: string): Promise<{ ok: true; documents: unknown } | { ok: false; error: string }> {
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
    try {
      return { ok: true, documents: JSON.parse(await fs.promises.readFile(file, 'utf8')) as unknown };
    } catch (error) {
      return { ok: false, error: `${file} is not valid JSON: ${(error as Error).message}.` };
    }
  }
  const documents: unknown[] = [];
  const lines = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    try {
      documents.push(JSON.parse(line));
    } catch {
      return { ok: false, error: `${file} line ${lineNumber} is not valid JSON.` };
    }
  }
  return { ok: true, documents };
}
