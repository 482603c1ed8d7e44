import type { IdSet } from '../tables.js';

const EMPTY = 0;

/**
 * The ids of the points and to-dos a CSV export has written, which can be cut back to what it held
 * at its last commit, as a window fetched again needs.
 *
 * An id is kept as a stretch of a string it arrived in, not as a string of its own: a batch from
 * the CSV threads brings all its ids end to end in one string, and cutting each out to put it in a
 * `Set` cost the main thread about 0.7 s over the bench's 470 MB export (500,000 ids), with the
 * collections that followed; this table takes them where they lie (open addressing, linear probing,
 * FNV-1a over the UTF-16 units), about a tenth of that.
 */
export class IdTable implements IdSet {
  private texts: string[] = [];
  private starts = new Int32Array(1024);
  private ends = new Int32Array(1024);
  private hashes = new Int32Array(1024);
  /** Entry index + 1 per slot; a power of two, at most half full. */
  private slots = new Int32Array(2048);
  /** How many ids were in at the last commit. */
  private committed = 0;

  get size(): number {
    return this.texts.length;
  }

  has(id: string): boolean {
    return this.find(id, 0, id.length, hashOf(id, 0, id.length)) >= 0;
  }

  add(id: string): boolean {
    return this.addSlice(id, 0, id.length);
  }

  /** Adds `text.slice(start, end)` unless it is in: true when it was not. */
  addSlice(text: string, start: number, end: number): boolean {
    const hash = hashOf(text, start, end);
    const slot = this.find(text, start, end, hash);
    if (slot >= 0) return false;
    const entry = this.texts.length;
    if (entry === this.starts.length) this.growEntries();
    this.texts.push(text);
    this.starts[entry] = start;
    this.ends[entry] = end;
    this.hashes[entry] = hash;
    if ((entry + 1) * 2 > this.slots.length) this.growSlots();
    else this.slots[-slot - 1] = entry + 1;
    return true;
  }

  /** Keeps every id in: what `rollBack` returns to. */
  commit(): void {
    this.committed = this.texts.length;
  }

  /**
   * Forgets every id added since the last commit. They go last first: each was put in a slot that
   * was empty then, and every id added after it is gone by the time it goes, so emptying its slot
   * leaves the table as it was before it came.
   */
  rollBack(): void {
    for (let entry = this.texts.length - 1; entry >= this.committed; entry--) {
      const mask = this.slots.length - 1;
      let slot = this.hashes[entry]! & mask;
      while (this.slots[slot] !== entry + 1) slot = (slot + 1) & mask;
      this.slots[slot] = EMPTY;
    }
    this.texts.length = this.committed;
  }

  /** The slot holding the id, or -(the empty slot where it would go) - 1. */
  private find(text: string, start: number, end: number, hash: number): number {
    const mask = this.slots.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const held = this.slots[slot]!;
      if (held === EMPTY) return -slot - 1;
      const entry = held - 1;
      if (this.hashes[entry] === hash && this.equals(entry, text, start, end)) return slot;
    }
  }

  private equals(entry: number, text: string, start: number, end: number): boolean {
    const from = this.starts[entry]!;
    if (this.ends[entry]! - from !== end - start) return false;
    const held = this.texts[entry]!;
    for (let k = 0; k < end - start; k++) if (held.charCodeAt(from + k) !== text.charCodeAt(start + k)) return false;
    return true;
  }

  private growEntries(): void {
    const grown = (from: Int32Array) => {
      const to = new Int32Array(from.length * 2);
      to.set(from);
      return to;
    };
    this.starts = grown(this.starts);
    this.ends = grown(this.ends);
    this.hashes = grown(this.hashes);
  }

  /** Twice the slots, every entry put back in the order it came (which `rollBack` relies on). */
  private growSlots(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    const mask = this.slots.length - 1;
    for (let entry = 0; entry < this.texts.length; entry++) {
      let slot = this.hashes[entry]! & mask;
      while (this.slots[slot] !== EMPTY) slot = (slot + 1) & mask;
      this.slots[slot] = entry + 1;
    }
  }
}

/** FNV-1a over UTF-16 units, mixed at the end so that its low bits (the slot) spread. */
export function hashOf(text: string, start: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let k = start; k < end; k++) hash = Math.imul(hash ^ text.charCodeAt(k), 0x01000193);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  return hash ^ (hash >>> 13);
}
