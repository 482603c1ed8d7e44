import { spawnSync } from 'node:child_process';

/**
 * Writes every dirty page of the machine to disk before something is timed: else the kernel writes
 * back what the bench wrote just before (a seeded database, the window's day pages, the last
 * round's files, up to gigabytes) while it runs, 30 s after the writes, on the same two cores, and
 * a timed command's own `fsync` waits behind it.
 */
export function settleDisk(): void {
  spawnSync('sync', { stdio: 'ignore' });
}
