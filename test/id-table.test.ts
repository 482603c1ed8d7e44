import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashOf, IdTable } from '../src/client/writers/id-table.js';

describe('the table of written point and to-do ids', () => {
  it('agrees with a Set over random ids, taken whole or as stretches of a longer text, across growth and roll-backs', () => {
    // xorshift32: whole 32-bit steps, no floating point.
    let seed = 11;
    const random = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    // Few letters and short lengths, so ids repeat often; the empty id and non-ASCII ones too.
    const letters = ['a', 'b', 'c', '0', '1', 'é', '😀'];
    const randomId = () => Array.from({ length: random(8) }, () => letters[random(letters.length)]).join('');
    const table = new IdTable();
    let reference = new Set<string>();
    let committed = new Set<string>();
    for (let round = 0; round < 400; round++) {
      const ids = Array.from({ length: 1 + random(300) }, randomId);
      const joined = ids.join('');
      let from = 0;
      for (const id of ids) {
        const known = reference.has(id);
        const added = random(2) === 0 ? table.addSlice(joined, from, from + id.length) : table.add(id);
        assert.equal(added, !known, `${JSON.stringify(id)} added`);
        if (!known) reference.add(id);
        from += id.length;
      }
      if (random(4) === 0) {
        table.commit();
        committed = new Set(reference);
      } else if (random(5) === 0) {
        table.rollBack();
        reference = new Set(committed);
      }
      assert.equal(table.size, reference.size);
      for (let probe = 0; probe < 50; probe++) {
        const id = randomId();
        assert.equal(table.has(id), reference.has(id), `${JSON.stringify(id)} held`);
      }
    }
    assert.ok(reference.size > 4000, `${reference.size} ids: the table grew past its first slots`);
  });

  it('tells apart two ids whose hashes are equal', () => {
    const byHash = new Map<number, string>();
    let pair: [string, string] | null = null;
    for (let i = 0; pair === null; i++) {
      const id = `point-${i.toString(36)}`;
      const hash = hashOf(id, 0, id.length);
      const other = byHash.get(hash);
      if (other === undefined) byHash.set(hash, id);
      else pair = [other, id];
    }
    const [first, second] = pair;
    const table = new IdTable();
    assert.equal(table.add(first), true);
    assert.equal(table.has(second), false, `${second} is not ${first}`);
    table.commit();
    assert.equal(table.addSlice(`x${second}y`, 1, second.length + 1), true);
    assert.equal(table.add(second), false);
    table.rollBack();
    assert.equal(table.has(second), false);
    assert.equal(table.has(first), true);
  });
});
