import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { scratchFolder } from '../src/importer/scratch-file.js';
import { WindowSpool } from '../src/importer/window-spool.js';
import { tempDir } from './helpers/backends.js';

describe('the spool of a window of import --from-server', () => {
  it('gives back every batch in the order put, bytes as Buffers, then holds nothing', () => {
    const spool = new WindowSpool<{ n: number; text: string; utf8: Buffer; ids: string[] }>();
    try {
      const batches = Array.from({ length: 5 }, (_, n) => ({ n, text: `é😀 ${n}`, utf8: Buffer.from(`{"n":${n}}`), ids: [`s-${n}`] }));
      for (const batch of batches) spool.put(batch);
      const back = [...spool.drain()];
      assert.deepEqual(back, batches);
      assert.ok(Buffer.isBuffer(back[0]!.utf8));
      assert.deepEqual([...spool.drain()], []);
    } finally {
      spool.close();
    }
  });

  it('forgets what a window given up had put, and numbers the next attempt from its start', () => {
    const spool = new WindowSpool<string>();
    try {
      spool.put('given up 1');
      spool.put('given up 2');
      spool.clear();
      spool.put('again 1');
      assert.deepEqual([...spool.drain()], ['again 1']);
    } finally {
      spool.close();
    }
  });
});

describe("the import's temporary folder, as named when its files cannot be written", () => {
  it('is the first of SQLITE_TMPDIR, TMPDIR and the system folders that is a folder it may write in', () => {
    const folder = tempDir();
    try {
      const file = path.join(folder, 'a-file');
      fs.writeFileSync(file, '');
      assert.equal(scratchFolder({ SQLITE_TMPDIR: folder, TMPDIR: '/tmp' }), folder);
      assert.equal(scratchFolder({ SQLITE_TMPDIR: path.join(folder, 'missing'), TMPDIR: folder }), folder);
      assert.equal(scratchFolder({ SQLITE_TMPDIR: file, TMPDIR: folder }), folder);
      assert.equal(scratchFolder({}), fs.existsSync('/var/tmp') ? '/var/tmp' : fs.existsSync('/usr/tmp') ? '/usr/tmp' : '/tmp');
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});
