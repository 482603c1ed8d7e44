import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FOLDERS = ['src', 'test', 'bench', 'web/src', 'bin'];
const MAX_LINE = 140;

function sourceFiles(folder: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(path.join(ROOT, folder), { withFileTypes: true })) {
    const relative = path.posix.join(folder, entry.name);
    if (entry.isDirectory()) found.push(...sourceFiles(relative));
    else if (/\.(?:ts|tsx|js)$/.test(entry.name)) found.push(relative);
  }
  return found;
}

test(`no line of the sources is over ${MAX_LINE} characters`, () => {
  const files = FOLDERS.flatMap(sourceFiles);
  assert.ok(files.length > 250 && files.includes('test/source-lines.test.ts'), `the sources were read (${files.length} files)`);
  const long: string[] = [];
  for (const file of files) {
    const lines = fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n');
    for (const [i, line] of lines.entries()) {
      const length = [...line.replace(/\r$/, '')].length;
      if (length > MAX_LINE) long.push(`${file}:${i + 1}: ${length} characters`);
    }
  }
  assert.deepEqual(long, [], `lines over ${MAX_LINE} characters:\n${long.join('\n')}`);
});
