/**
 * A streamed import's last look at its signal (StreamedImportOptions), just before its commit. A
 * signal reaches JavaScript as a task of the event loop, and the work after the last batch (SQLite's
 * index builds, the statements of a synchronous driver) gives the loop no turn: one turn first, so
 * that a Ctrl-C pressed meanwhile rolls the import back instead of being seen after the commit.
 */
export async function beforeCommit(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return;
  await new Promise((resolve) => setImmediate(resolve));
  signal.throwIfAborted();
}
