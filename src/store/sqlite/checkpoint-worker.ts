import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';

/** The worker behind `startCheckpointer`: a PASSIVE checkpoint on a timer until told to stop. */
const { file, intervalMs } = workerData as { file: string; intervalMs: number };
const db = new BetterSqlite3(file, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
// This connection only checkpoints, so it never triggers one of its own on commit.
db.pragma('wal_autocheckpoint = 0');
const timer = setInterval(() => db.pragma('wal_checkpoint(PASSIVE)'), intervalMs);
parentPort!.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort!.close();
});
