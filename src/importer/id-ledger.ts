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
  close(): void;
}

/**
 * The ledger in this thread's heap: a Map from id to a slot, and the slot's numbers in typed arrays,
 * about 80 bytes an id. For imports held in memory anyway (an HTTP import's body), and the tests.
 */
export class MemoryLedger implements IdLedger {
  private readonly kinds = new Map<number, Map<string, number>>();
  private prints = new Float64Array(1024);
  private elements = new Float64Array(1024);
  private keys = new Uint32Array(1024);
  private used = 0;

  firstOrEarlier(kind: number, id: string, mention: FirstMention): FirstMention | null {
    let slots = this.kinds.get(kind);
    if (!slots) {
      slots = new Map();
      this.kinds.set(kind, slots);
    }
    const slot = slots.get(id);
    if (slot !== undefined) return { print: this.prints[slot]!, element: this.elements[slot]!, key: this.keys[slot]! };
    if (this.used === this.prints.length) this.grow();
    this.prints[this.used] = mention.print;
    this.elements[this.used] = mention.element;
    this.keys[this.used] = mention.key;
    slots.set(id, this.used++);
    return null;
  }

  count(kind: number): number {
    return this.kinds.get(kind)?.size ?? 0;
  }

  close(): void {}

  private grow(): void {
    const size = this.prints.length * 2;
    const prints = new Float64Array(size);
    prints.set(this.prints);
    const elements = new Float64Array(size);
    elements.set(this.elements);
    const keys = new Uint32Array(size);
    keys.set(this.keys);
    [this.prints, this.elements, this.keys] = [prints, elements, keys];
  }
}
