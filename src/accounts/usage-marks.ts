/**
 * A token's last use and a browser session's last sight are written beside the request that shows
 * them, never awaited by it (tokens.ts, browser-sessions.ts): on SQLite a write may wait seconds for
 * another process's lock, and a request must not. While one mark of a thing is being written, later
 * requests of the same thing start none of their own, so a lock held for minutes costs one pending
 * write per token or session, not one per request. A mark that cannot be written is said once a
 * minute at most as a process warning (the server's log), since a lock can fail every one of them.
 */
const WARN_EVERY_MS = 60_000;

const writing = new Set<string>();
let lastWarnedAt = Number.NEGATIVE_INFINITY;

export function markInBackground(key: string, what: string, write: () => Promise<void>): void {
  if (writing.has(key)) return;
  writing.add(key);
  // Started in a promise: a write that threw at once must neither reach the request nor keep its key.
  Promise.resolve()
    .then(write)
    .catch((error: unknown) => {
      const now = Date.now();
      if (now - lastWarnedAt < WARN_EVERY_MS) return;
      lastWarnedAt = now;
      const reason = error instanceof Error ? error.message : String(error);
      process.emitWarning(`${what} was not recorded: ${reason}`, 'CoachportUsageWarning');
    })
    .finally(() => writing.delete(key));
}
