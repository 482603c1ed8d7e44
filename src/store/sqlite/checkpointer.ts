import { Worker } from 'node:worker_threads';

/** How often the background connection copies committed WAL frames into the database file. */
export const CHECKPOINT_INTERVAL_MS = 250;

export interface Checkpointer {
  stop(): Promise<void>;
}

/**
 * Checkpoints the WAL from a worker thread with a connection of its own. SQLite otherwise runs a
 * checkpoint inside the commit that crosses `wal_autocheckpoint`, on the event loop, copying pages
 * and fsyncing while every request waits. PASSIVE checkpoints never block the writer or readers;
 * once a checkpoint has caught up, the next write starts the WAL over, so the writer's own
 * threshold is only a fallback for when this thread falls behind or fails. A failure is reported
 * through `onError` and leaves the writer checkpointing by itself, as SQLite does by default.
 */
export function startCheckpointer(file: string, onError: (error: Error) => void): Checkpointer {
  const worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), {
    workerData: { file, intervalMs: CHECKPOINT_INTERVAL_MS },
  });
  worker.unref();
  worker.on('error', onError);
  return {
    stop: async () => {
      // Held while it stops, so a process with nothing else left to do waits for the last checkpoint.
      worker.ref();
      worker.postMessage('stop');
      await new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        // A checkpoint in progress finishes first; a stuck one is not worth waiting on at shutdown.
        setTimeout(() => void worker.terminate(), 5_000).unref();
      });
    },
  };
}
