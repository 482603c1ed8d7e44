import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WindowSpool } from '../src/importer/window-spool.js';

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
