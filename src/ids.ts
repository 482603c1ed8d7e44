import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const RANDOM_BYTES = 8;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;

/**
 * Eight bytes from the CSPRNG, taken from a pool filled 4 KiB at a time: one `randomBytes(8)` a
 * call cost 4.5 µs, several times per coaching change, against 0.2 µs from the pool.
 */
function randomHex(): string {
  if (offset + RANDOM_BYTES > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + RANDOM_BYTES);
  offset += RANDOM_BYTES;
  return hex;
}

/**
 * A 24-hex-character id in the style of the ids the Coaching Export API already carries:
 * four bytes of seconds first, so ids made later sort later, then eight random bytes.
 */
export function newId(nowMs: number = Date.now()): string {
  const seconds = Math.floor(nowMs / 1000) >>> 0;
  return seconds.toString(16).padStart(8, '0') + randomHex();
}
