/** What the import remembers of the first document that named an id. */
export interface FirstMention {
  /** A fingerprint of the value it gave (plan.ts). */
  print: number;
  element: number;
  /** The field it named the id in, as a KeyNames code (plan.ts). */
  key: number;
}

/**
 * Every id an import has seen, by kind (sessions, points, to-dos, …), with its first mention: what
 * the planner checks duplicates and agreement against, for the whole import.
 */
export interface IdLedger {
  /** Records `mention` as the first of `id` and answers null, or answers the earlier first mention. */
  firstOrEarlier(kind: number, id: string, mention: FirstMention): FirstMention | null;
  /** Ids seen of `kind`. */
  count(kind: number): number;
  /** Starts a part that may be taken back whole by `rewind`. */
  mark(): void;
  /** Forgets every id first seen since the last mark (since the start without one), as if never seen. */
  rewind(): void;
  close(): void;
}

/**
 * The ledger in this thread's heap, without a string or an object an id: the ids' UTF-8 bytes in
 * one growing byte array, their numbers in typed arrays, and an open-addressing index of 32-bit
 * slots over them. About 65 bytes an id (a Map from id strings to slots took about 170): for what
 * one request imports, and for people and templates. A streamed import, whose ids grow with its
 * file, keeps them on disk (disk-ledger.ts).
 */
export class MemoryLedger implements IdLedger {
  private bytes = new Uint8Array(1 << 16);
  private bytesUsed = 0;
  private offsets = new Uint32Array(1024);
  private lengths = new Uint16Array(1024);
  private kinds = new Uint8Array(1024);
  private prints = new Float64Array(1024);
  private elements = new Uint32Array(1024);
  private keys = new Uint32Array(1024);
  private used = 0;
  /** Entry number + 1 per slot, 0 for an empty one; never more than half full. */
  private index = new Uint32Array(2048);
  private readonly counts = new Map<number, number>();
  private scratch = Buffer.alloc(1024);
  /** Entries before the last mark: those from it on are what a rewind forgets. */
  private marked = 0;

  firstOrEarlier(kind: number, id: string, mention: FirstMention): FirstMention | null {
    if (this.scratch.length < id.length * 3) this.scratch = Buffer.alloc(id.length * 3);
    const length = this.scratch.write(id, 'utf8');
    const mask = this.index.length - 1;
    let slot = hashOf(kind, this.scratch, length) & mask;
    for (;;) {
      const entry = this.index[slot]!;
      if (entry === 0) break;
      if (this.matches(entry - 1, kind, length)) {
        const at = entry - 1;
        return { print: this.prints[at]!, element: this.elements[at]!, key: this.keys[at]! };
      }
      slot = (slot + 1) & mask;
    }
    const at = this.add(kind, length, mention);
    this.index[slot] = at + 1;
    this.counts.set(kind, this.count(kind) + 1);
    if (this.used * 2 > this.index.length) this.reindex();
    return null;
  }

  count(kind: number): number {
    return this.counts.get(kind) ?? 0;
  }

  mark(): void {
    this.marked = this.used;
  }

  rewind(): void {
    // Newest first: the index is what inserting the entries in order made (a reindex inserts them in
    // order too), so the newest entry's slot is on no older entry's probe path and emptying it
    // leaves exactly the index of the entries before it.
    const mask = this.index.length - 1;
    while (this.used > this.marked) {
      const at = this.used - 1;
      const offset = this.offsets[at]!;
      const length = this.lengths[at]!;
      const kind = this.kinds[at]!;
      let slot = hashOf(kind, this.bytes.subarray(offset, offset + length), length) & mask;
      while (this.index[slot] !== at + 1) slot = (slot + 1) & mask;
      this.index[slot] = 0;
      this.counts.set(kind, this.count(kind) - 1);
      this.bytesUsed = offset;
      this.used = at;
    }
  }

  close(): void {}

  private matches(at: number, kind: number, length: number): boolean {
    if (this.kinds[at] !== kind || this.lengths[at] !== length) return false;
    const offset = this.offsets[at]!;
    for (let i = 0; i < length; i++) if (this.bytes[offset + i] !== this.scratch[i]) return false;
    return true;
  }

  private add(kind: number, length: number, mention: FirstMention): number {
    if (this.used === this.offsets.length) this.growEntries();
    while (this.bytesUsed + length > this.bytes.length) this.bytes = grown(this.bytes, this.bytes.length * 2);
    this.bytes.set(this.scratch.subarray(0, length), this.bytesUsed);
    const at = this.used++;
    this.offsets[at] = this.bytesUsed;
    this.lengths[at] = length;
    this.kinds[at] = kind;
    this.prints[at] = mention.print;
    this.elements[at] = mention.element;
    this.keys[at] = mention.key;
    this.bytesUsed += length;
    return at;
  }

  private growEntries(): void {
    const size = this.offsets.length * 2;
    this.offsets = grown(this.offsets, size);
    this.lengths = grown(this.lengths, size);
    this.kinds = grown(this.kinds, size);
    this.prints = grown(this.prints, size);
    this.elements = grown(this.elements, size);
    this.keys = grown(this.keys, size);
  }

  private reindex(): void {
    this.index = new Uint32Array(this.index.length * 2);
    const mask = this.index.length - 1;
    for (let at = 0; at < this.used; at++) {
      const offset = this.offsets[at]!;
      let slot = hashOf(this.kinds[at]!, this.bytes.subarray(offset, offset + this.lengths[at]!), this.lengths[at]!) & mask;
      while (this.index[slot] !== 0) slot = (slot + 1) & mask;
      this.index[slot] = at + 1;
    }
  }
}

/** FNV-1a over the kind and the id's bytes. */
function hashOf(kind: number, bytes: Uint8Array, length: number): number {
  let h = Math.imul(0x811c9dc5 ^ kind, 16777619);
  for (let i = 0; i < length; i++) h = Math.imul(h ^ bytes[i]!, 16777619);
  return h >>> 0;
}

function grown<T extends Uint8Array | Uint16Array | Uint32Array | Float64Array>(array: T, size: number): T {
  const next = new (array.constructor as new (size: number) => T)(size);
  next.set(array);
  return next;
}
