/**
 * Bytes aimed at per export chunk, by both databases' export readers: large enough that the
 * per-chunk costs (a statement, a socket write, a turn of the event loop) vanish, small enough
 * that twelve exports at once stay flat.
 */
export const EXPORT_CHUNK_BYTES = 256 * 1024;
