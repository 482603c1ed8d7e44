import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupedDigits } from '../src/digits.js';

describe('whole numbers with their thousands grouped', () => {
  it('reads as toLocaleString("en") writes them, from 0 to past a billion and below zero', () => {
    const numbers = [0, 7, 999, 1000, 12_345, 100_000, 999_999, 1_000_000, 1_234_567_890, -1, -1000, -987_654];
    for (let n = 1; n < 1e15; n = n * 7 + 3) numbers.push(n);
    for (const n of numbers) assert.equal(groupedDigits(n), n.toLocaleString('en'), String(n));
  });
});
