import type { ServerResponse } from 'node:http';

/**
 * Cuts a response whose client has stopped reading. A consumer that hangs with its connection
 * open would otherwise hold its export slot for good, and with it a read snapshot: on SQLite no
 * checkpoint can pass it, so the WAL grows with every write; on PostgreSQL the `COPY`'s snapshot
 * holds back vacuum. "Stopped" means the response waits for the socket to drain and the socket
 * has taken no byte for `stallMs`; a slow reader that keeps taking bytes is never cut, and neither
 * is an export waiting on its database (the response is not waiting to drain then).
 */
export function cutWhenReaderStalls(response: ServerResponse, stallMs: number): void {
  const socket = response.socket;
  if (!socket) return;
  let lastBytes = socket.bytesWritten;
  let lastProgress = performance.now();
  const timer = setInterval(
    () => {
      const now = performance.now();
      if (socket.bytesWritten !== lastBytes || !response.writableNeedDrain) {
        lastBytes = socket.bytesWritten;
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
