/**
 * Buffers an export's store made for the export alone (a page fresh from the driver or from
 * Buffer.concat, not shared, cached or read again after it is yielded). The writer frees only
 * these once they are sent (src/http/export-writer.ts): opting in, rather than guessing from a
 * Buffer's shape, keeps a cached or shared Buffer that happens to fill its memory from being emptied.
 */
const owned = new WeakSet<Buffer>();

export function ownedByExport(buffer: Buffer): Buffer {
  owned.add(buffer);
  return buffer;
}

export const isOwnedByExport = (chunk: Buffer | string): chunk is Buffer => typeof chunk !== 'string' && owned.has(chunk);
