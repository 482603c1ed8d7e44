/**
 * What a lean CSV export (see CsvWriter) keeps of the points and to-dos it wrote: two 32-bit hashes
 * of each one's id, not the id. A record written twice has the same hashes twice, so `repeats`
 * finds every record written twice; hashes alike for two different ids only make the export
 * fetch the window again and write it the exact way, so they can cost time, never rows.
 */

/** Bits of the first hash that pick a bit of a 2 MiB map: one look per record, mostly in cache. */
const BITS = 1 << 24;
const MASK = BITS - 1;
const UTF8 = new TextEncoder();

/** The hashes csv-rows.wat's `$hash` makes of an id's bytes, made of the id's text: into `out` at `at`. */
export function idHash(id: string, out: Int32Array, at: number): void {
  const bytes = UTF8.encode(id);
  let a = 0x811c9dc5;
  let b = 0x2545f491;
  for (const c of bytes) {
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 13;
  }
  out[at] = mix(a);
  out[at + 1] = mix(b);
}

/** MurmurHash3's finish. */
function mix(hash: number): number {
  let h = hash ^ (hash >>> 16);
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Two numbers a record: the hashes of the records written since the last commit, and of those before. */
export class RecordHashes {
  private committed: Int32Array = new Int32Array(1 << 16);
  private committedLength = 0;
  private pending: Int32Array = new Int32Array(1 << 16);
  private pendingLength = 0;
  /** A bit per first hash's low 24 bits, set for every committed record. */
  private readonly committedBits = new Uint8Array(BITS / 8);

  add(first: number, second: number): void {
    if (this.pendingLength + 2 > this.pending.length) this.pending = grown(this.pending, this.pendingLength + 2);
    this.pending[this.pendingLength++] = first;
    this.pending[this.pendingLength++] = second;
  }

  /** Adds every pair of `pairs`. */
  addAll(pairs: Int32Array): void {
    if (this.pendingLength + pairs.length > this.pending.length) this.pending = grown(this.pending, this.pendingLength + pairs.length);
    this.pending.set(pairs, this.pendingLength);
    this.pendingLength += pairs.length;
  }

  addId(id: string): void {
    if (this.pendingLength + 2 > this.pending.length) this.pending = grown(this.pending, this.pendingLength + 2);
    idHash(id, this.pending, this.pendingLength);
    this.pendingLength += 2;
  }

  /**
   * Whether a record added since the last commit has the hashes of another, added since or before.
   * A first pass over a bit map by the low bits finds the few hashes that may be alike; only those
   * are compared whole.
   */
  repeats(): boolean {
    const seen = new Uint8Array(BITS / 8);
    const alike = new Uint8Array(BITS / 8);
    let any = false;
    const pending = this.pending;
    for (let i = 0; i < this.pendingLength; i += 2) {
      const bit = pending[i]! & MASK;
      const byte = bit >>> 3;
      const mask = 1 << (bit & 7);
      if ((this.committedBits[byte]! | seen[byte]!) & mask) {
        alike[byte]! |= mask;
        any = true;
      } else seen[byte]! |= mask;
    }
    if (!any) return false;
    const isAlike = (first: number) => {
      const bit = first & MASK;
      return (alike[bit >>> 3]! & (1 << (bit & 7))) !== 0;
    };
    const before = new Set<number>();
    for (let i = 0; i < this.committedLength; i += 2) if (isAlike(this.committed[i]!)) before.add(key(this.committed, i));
    const since: number[] = [];
    for (let i = 0; i < this.pendingLength; i += 2) if (isAlike(pending[i]!)) since.push(key(pending, i));
    since.sort((x, y) => x - y);
    return since.some((k, i) => before.has(k) || (i > 0 && since[i - 1] === k));
  }

  commit(): void {
    if (this.committedLength + this.pendingLength > this.committed.length)
      this.committed = grown(this.committed, this.committedLength + this.pendingLength);
    this.committed.set(this.pending.subarray(0, this.pendingLength), this.committedLength);
    this.committedLength += this.pendingLength;
    for (let i = 0; i < this.pendingLength; i += 2) {
      const bit = this.pending[i]! & MASK;
      this.committedBits[bit >>> 3]! |= 1 << (bit & 7);
    }
    this.pendingLength = 0;
  }

  rollBack(): void {
    this.pendingLength = 0;
  }
}

/** Both hashes as one number: 52 of their 64 bits, exact in a double (alike more often, never apart). */
const key = (pairs: Int32Array, i: number) => (pairs[i + 1]! & 0xfffff) * 0x1_0000_0000 + (pairs[i]! >>> 0);

function grown(from: Int32Array, least: number): Int32Array {
  let length = from.length * 2;
  while (length < least) length *= 2;
  const to = new Int32Array(length);
  to.set(from);
  return to;
}
