import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FileSink } from '../src/client/writers/file-sink.js';
import { tempDir } from './helpers/backends.js';

describe('a file sink, whose text waits as bytes in a buffer it reuses', () => {
  it('writes text and bytes in the order given, multi-byte characters at the buffer edge and text larger than it included', () => {
    const dir = tempDir();
    try {
      const file = path.join(dir, 'out.csv');
      const sink = new FileSink(file, null);
      const parts: Array<string | Buffer> = [];
      // Enough mixed text to cross the 1 MiB buffer several times at odd places.
      for (let i = 0; i < 40_000; i++) parts.push(i % 7 === 0 ? `é😀${i}\u2028,` : `row ${i} ${'x'.repeat(i % 50)}\r\n`);
      parts.splice(20_000, 0, Buffer.from('bytes in between\n'), 'ü'.repeat(600_000), Buffer.from('more bytes\n'));
      for (const part of parts) {
        if (typeof part === 'string') sink.write(part);
        else sink.writeBytes(part);
      }
      const expected = Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : part)));
      assert.equal(sink.commit(), expected.length);
      sink.write('dropped 😀');
      sink.writeBytes(Buffer.from('dropped too'));
      sink.write('x'.repeat(2_000_000));
      sink.rollback();
      sink.write('kept');
      sink.close();
      assert.ok(fs.readFileSync(file).equals(Buffer.concat([expected, Buffer.from('kept')])));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('syncs in the background as it writes, and a close while a sync is under way closes the file once it ends', async () => {
    const dir = tempDir();
    const openFiles = () => fs.readdirSync('/proc/self/fd').length;
    try {
      const file = path.join(dir, 'out.ndjson');
      const before = openFiles();
      const sink = new FileSink(file, null);
      const block = Buffer.alloc(1 << 20, 'a');
      // Past 32 MiB a sync starts; one more block written, a cut-back and the close all come before it ends.
      for (let i = 0; i < 33; i++) sink.writeBytes(Buffer.from(block));
      assert.equal(sink.commit(), 33 << 20);
      for (let i = 0; i < 33; i++) sink.writeBytes(Buffer.from(block));
      sink.writeBytes(Buffer.from('dropped'));
      sink.rollback();
      sink.writeBytes(Buffer.from('kept'));
      sink.close();
      assert.equal(openFiles(), before + 1, 'the file stays open while its sync runs');
      for (let waited = 0; openFiles() > before && waited < 10_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(openFiles(), before, 'the file is closed once its sync ends');
      assert.equal(fs.statSync(file).size, (33 << 20) + 4);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
