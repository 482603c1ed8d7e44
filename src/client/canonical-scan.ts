import { instantiate, WASM_PAGE, type WasmMemory } from './wasm-module.js';

/** Where the chunk being scanned begins in the module's memory (canonical-json.wat says what is below it). */
const INPUT = 65_536;
/** The scan reads sixteen bytes at a time and never past the chunk's end, but may load up to there. */
const SPARE = 16;

interface ScanExports {
  memory: WasmMemory;
  begin(): void;
  scan(from: number, to: number): number;
  complete(): number;
}

/**
 * The grammar check and boundary search of one splitter, run by canonical-json.wasm on a copy of
 * each chunk: `load` a chunk, `begin` each element, `scan` from where the element goes on.
 */
export class CanonicalScan {
  private readonly wasm = instantiate<ScanExports>(new URL('./canonical-json.wasm', import.meta.url));
  private memory = new Uint8Array(this.wasm.memory.buffer);

  /** The chunk the next scans read (copied in; the module's memory grows to the largest chunk). */
  load(chunk: Uint8Array): void {
    const memory = this.wasm.memory;
    const short = INPUT + chunk.byteLength + SPARE - memory.buffer.byteLength;
    if (short > 0) memory.grow(Math.ceil(short / WASM_PAGE));
    // Growing the memory replaces its buffer.
    if (this.memory.buffer !== memory.buffer) this.memory = new Uint8Array(memory.buffer);
    this.memory.set(chunk, INPUT);
  }

  /** A new element begins. */
  begin(): void {
    this.wasm.begin();
  }

  /** From `from` of the loaded chunk: where the element ends (the comma or bracket after it), or `to` when it goes on. */
  scan(from: number, to: number): number {
    const end = this.wasm.scan(INPUT + from, INPUT + to);
    if (end < 0) throw new SyntaxError('unexpected } in the response');
    return end - INPUT;
  }

  /** Whether the element scanned since `begin` is complete and what JSON.stringify writes, UTF-8 aside. */
  complete(): boolean {
    return this.wasm.complete() === 1;
  }
}
