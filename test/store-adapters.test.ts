import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * What differs between SQLite and PostgreSQL lives in src/store/sqlite/ and src/store/postgres/,
 * behind each database's StoreAdapter; the shared store code asks the adapter. These read the
 * sources (the test runs from dist/test/, beside the checkout's src/) and hold that shape.
 */
const STORE = fileURLToPath(new URL('../../src/store/', import.meta.url));
/** One database's code each; the migrations are written per database as well. */
const PER_DATABASE = new Set(['sqlite', 'postgres', 'migrations']);
/** Picks the driver from the configuration: the one place that has to name the databases. */
const DRIVER_CHOICE = 'open.ts';

function sharedFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return dir === STORE && PER_DATABASE.has(entry.name) ? [] : sharedFiles(full);
    return entry.name.endsWith('.ts') && !(dir === STORE && entry.name === DRIVER_CHOICE) ? [full] : [];
  });
}

describe('the store adapters', () => {
  it('leave no comparison with a database name in the shared store code', () => {
    const files = sharedFiles(STORE);
    assert.ok(
      files.some((file) => file.endsWith(path.join('documents', 'refresh.ts'))),
      'the shared files are found',
    );
    const namesADatabase = /[!=]==?\s*'(sqlite|postgres)'|'(sqlite|postgres)'\s*[!=]==?/;
    const branches = files.flatMap((file) =>
      fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, i) => (namesADatabase.test(line) ? [`${path.relative(STORE, file)}:${i + 1}`] : [])),
    );
    assert.deepEqual(branches, []);
  });

  it('build the SQLite bulk import from the rows every other write uses, listing no column of its own', () => {
    const bulk = fs.readFileSync(path.join(STORE, 'sqlite', 'bulk-import.ts'), 'utf8');
    for (const column of ['coaching_form_name', 'rubric_name', 'action_string', 'action_type', 'meeting_date']) {
      assert.doesNotMatch(bulk, new RegExp(`\\b${column}\\b`), column);
    }
  });
});
