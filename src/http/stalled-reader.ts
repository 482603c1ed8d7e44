import type { ServerResponse } from 'node:http';

/**
 * Cuts a response whose client has stopped reading. A consumer that hangs with its connection
 * open would otherwise hold its export slot for good, and with it a read snapshot: on SQLite no
 * checkpoint can pass it, so the WAL grows with every write; on PostgreSQL the `COPY`'s snapshot
 * holds back vacuum.
 *
 * "Stopped" means the response is waiting on the client (for a drain, or for its last bytes to
 * go out after it ended) and the socket has finished no write for `stallMs`. Node sees a write
 * finish once the kernel took all of it, so progress shows per chunk written (up to a 1 MB page on
 * SQLite, 256 KB on PostgreSQL): a client reading steadily but slower than about one chunk per
 * `stallMs` (17 KB/s at the default 60 s) is cut too. An export waiting on its database is not waiting on the client, and a
 * response still queued behind another on a pipelined connection has no socket yet: neither counts.
 */
export function cutWhenReaderStalls(response: ServerResponse, stallMs: number): void {
  let last = '';
  let lastProgress = performance.now();
  const timer = setInterval(
    () => {
      const now = performance.now();
      const socket = response.socket;
      const waitingOnClient = response.writableNeedDrain || (response.writableEnded && !response.writableFinished);
      // Bytes handed to the socket, and bytes it still holds: one of them moves when a write finishes.
      const progress = socket ? `${socket.bytesWritten}:${socket.writableLength}` : '';
      if (!socket || !waitingOnClient || progress !== last) {
        last = progress;
        lastProgress = now;
      } else if (now - lastProgress >= stallMs) {
        clearInterval(timer);
        socket.destroy();
      }
    },
    Math.max(10, Math.min(1000, stallMs / 4)),
  );
  timer.unref();
  response.once('close', () => clearInterval(timer));
}
