/**
 * Bytes aimed at per chunk of PostgreSQL's export: large enough that the per-chunk costs (a socket
 * write, a turn of the event loop) vanish, small enough that twelve exports at once stay flat.
 * SQLite's pages aim at their own size (SQLITE_PAGE_BYTES in sqlite/document-pages.ts).
 */
export const EXPORT_CHUNK_BYTES = 256 * 1024;
