import fs from 'node:fs';

/** The little of WebAssembly used here: Node has it, but its types come only with the DOM's. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  /** Grows by `pages` of 64 KiB; throws a RangeError when it cannot. */
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { readonly exports: unknown };
  /** What a trap (`unreachable`) throws. */
  RuntimeError: new () => Error;
}
const { Module, Instance, RuntimeError } = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export const WASM_PAGE = 65_536;

/** Whether `error` is a module's trap. */
export const isTrap = (error: unknown): boolean => error instanceof RuntimeError;

const compiled = new Map<string, object>();

/**
 * A new instance of the module `npm run build` makes beside the file at `url` (a few kilobytes,
 * compiled once per process): its exports.
 */
export function instantiate<T>(url: URL): T {
  let module = compiled.get(url.href);
  if (!module) {
    module = new Module(fs.readFileSync(url));
    compiled.set(url.href, module);
  }
  return new Instance(module).exports as T;
}
