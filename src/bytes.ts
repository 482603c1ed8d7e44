/** The same bytes as a Buffer, not copied: a view of the Uint8Array's memory. */
export const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * Gives a Buffer's memory back to the allocator at once, when the Buffer is its memory's whole view:
 * ArrayBuffer.prototype.transfer(0) detaches it, and the memory, which nothing else may hold, is
 * freed there and then instead of at the garbage collector's next pass. The caller guarantees
 * nothing reads the Buffer, or another view of its memory, again.
 */
export function freeNow(bytes: Buffer): void {
  const memory = bytes.buffer;
  if (!(memory instanceof ArrayBuffer) || bytes.byteLength === 0 || bytes.byteOffset !== 0 || bytes.byteLength !== memory.byteLength)
    return;
  try {
    memory.transfer(0);
  } catch {
    // Not detachable: the garbage collector frees it as before.
  }
}
