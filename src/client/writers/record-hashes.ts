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

/**
 * The hashes of the records written since the last commit (two numbers each), and the keys of
 * those before it (`key`): sorted up to `sorted`, the later commits appended after, and sorted in
 * only when a later response has hashes that may be alike. An export of one window never sorts.
 */
export class RecordHashes {
  private pending: Int32Array = new Int32Array(0);
  private pendingLength = 0;
  private committed: Float64Array = new Float64Array(0);
  private committedLength = 0;
  private sorted = 0;
  /** A bit per low 24 bits of the first hash, set for every committed record; made at the first commit. */
  private committedBits: Uint8Array | null = null;

  add(first: number, second: number): void {
    this.room(2);
    this.pending[this.pendingLength++] = first;
    this.pending[this.pendingLength++] = second;
  }

  /** Adds every pair of `pairs`. */
  addAll(pairs: Int32Array): void {
    this.room(pairs.length);
    this.pending.set(pairs, this.pendingLength);
    this.pendingLength += pairs.length;
  }

  addId(id: string): void {
    this.room(2);
    idHash(id, this.pending, this.pendingLength);
    this.pendingLength += 2;
  }

  /**
   * Whether a record added since the last commit has the hashes of another, added since or before.
   * A first pass over a bit map by the low bits finds the hashes that may be alike (a few thousand
   * of half a million); only those are compared whole.
   */
  repeats(): boolean {
    const seen = new Uint8Array(BITS / 8);
    const alike = new Uint8Array(BITS / 8);
    const before = this.committedBits;
    const pending = this.pending;
    let any = false;
    for (let i = 0; i < this.pendingLength; i += 2) {
      const bit = pending[i]! & MASK;
      const byte = bit >>> 3;
      const mask = 1 << (bit & 7);
      if (((before?.[byte] ?? 0) | seen[byte]!) & mask) {
        alike[byte]! |= mask;
        any = true;
      } else seen[byte]! |= mask;
    }
    if (!any) return false;
    const candidates: number[] = [];
    for (let i = 0; i < this.pendingLength; i += 2) {
      const bit = pending[i]! & MASK;
      if (alike[bit >>> 3]! & (1 << (bit & 7))) candidates.push(key(pending, i));
    }
    const since = Float64Array.from(candidates).sort();
    for (let i = 1; i < since.length; i++) if (since[i] === since[i - 1]) return true;
    if (this.committedLength === 0) return false;
    const committed = this.sortedCommitted();
    return since.some((k) => has(committed, k));
  }

  commit(): void {
    if (this.pendingLength === 0) return;
    const count = this.pendingLength / 2;
    if (this.committedLength + count > this.committed.length) {
      const grownTo = new Float64Array(Math.max(this.committedLength + count, this.committed.length * 2));
      grownTo.set(this.committed.subarray(0, this.committedLength));
      this.committed = grownTo;
    }
    this.committedBits ??= new Uint8Array(BITS / 8);
    for (let i = 0; i < this.pendingLength; i += 2) {
      const bit = this.pending[i]! & MASK;
      this.committedBits[bit >>> 3]! |= 1 << (bit & 7);
      this.committed[this.committedLength++] = key(this.pending, i);
    }
    this.pendingLength = 0;
  }

  rollBack(): void {
    this.pendingLength = 0;
  }

  private room(more: number): void {
    if (this.pendingLength + more <= this.pending.length) return;
    const grownTo = new Int32Array(Math.max(1 << 16, this.pendingLength + more, this.pending.length * 2));
    grownTo.set(this.pending.subarray(0, this.pendingLength));
    this.pending = grownTo;
  }

  /** The committed keys, the later commits sorted in. */
  private sortedCommitted(): Float64Array {
    if (this.sorted < this.committedLength) {
      const head = this.committed.subarray(0, this.sorted);
      const tail = this.committed.slice(this.sorted, this.committedLength).sort();
      const merged = new Float64Array(this.committed.length);
      let h = 0;
      let t = 0;
      let m = 0;
      while (h < head.length && t < tail.length) merged[m++] = head[h]! <= tail[t]! ? head[h++]! : tail[t++]!;
      while (h < head.length) merged[m++] = head[h++]!;
      while (t < tail.length) merged[m++] = tail[t++]!;
      this.committed = merged;
      this.sorted = this.committedLength;
    }
    return this.committed.subarray(0, this.committedLength);
  }
}

/** Whether the sorted `keys` hold `k`. */
function has(keys: Float64Array, k: number): boolean {
  let low = 0;
  let high = keys.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const at = keys[mid]!;
    if (at === k) return true;
    if (at < k) low = mid + 1;
    else high = mid - 1;
  }
  return false;
}

/** Both hashes as one number: 52 of their 64 bits, exact in a double (alike more often, never apart). */
const key = (pairs: Int32Array, i: number) => (pairs[i + 1]! & 0xfffff) * 0x1_0000_0000 + (pairs[i]! >>> 0);
