import { randomBytes } from 'node:crypto';

/**
 * A 24-hex-character id in the style of the ids the Coaching Export API already carries:
 * four bytes of seconds first, so ids made later sort later, then eight random bytes.
 */
export function newId(nowMs: number = Date.now()): string {
  const seconds = Math.floor(nowMs / 1000) >>> 0;
  return seconds.toString(16).padStart(8, '0') + randomBytes(8).toString('hex');
}
