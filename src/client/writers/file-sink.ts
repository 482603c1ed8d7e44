import fs from 'node:fs';
import { dirname } from 'node:path';

const FLUSH_AT = 1 << 20;
/**
 * How much is written to a file between asking the kernel, in the background, to put it on disk.
 * The commit's `fsync` waits for what is left: with 32 MiB, the six tables (304 MB) of a CSV export
 * of 100,000 seeded sessions left 31–43 ms of it, and the export took 1.40–1.73 s; with 8 MiB,
 * 14–21 ms and 1.29–1.63 s, faster in 7 of 8 alternated runs (NDJSON, one file, as fast either way).
 * The bench's client rounds, which time the export beside the server, saw no difference beyond their
 * noise (CSV 0.28× and 0.26× of the server with 32 MiB, 0.29× and 0.25× with 8 MiB, alternated).
 */
const SYNC_EVERY = 8 << 20;

/**
 * An append-only file that can be cut back to its last commit: what an interrupted or retried export
 * needs so that a file only ever holds whole windows.
 */
export class FileSink {
  private fd: number;
  /**
   * Text is encoded as it comes into one buffer that is reused, so what waits to be written is
   * bytes outside the JavaScript heap, not a long string the garbage collector keeps moving.
   */
  private readonly buffer = Buffer.allocUnsafe(FLUSH_AT);
  private buffered = 0;
  /** Bytes waiting to be written, after `buffer` (which is flushed before any bytes join). */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private committed: number;
  /** Bytes written since the kernel was last asked to put them on disk (see `noteWritten`). */
  private unsynced = 0;
  /**
   * The background syncs' own descriptor of the file. Linux reports a failed write-back once to
   * each open file: on a descriptor of their own, the background syncs cannot take the report
   * that the commit's `fsync` must see.
   */
  private syncFd: number | null = null;
  private syncing = false;
  private closeWhenSynced = false;

  constructor(
    readonly path: string,
    resumeAt: number | null,
  ) {
    if (resumeAt === null) {
      fs.mkdirSync(dirname(path), { recursive: true });
      fs.writeFileSync(path, '');
    }
    // Append mode: after the file is cut back, the next write lands at the new end, not in a hole.
    this.fd = fs.openSync(path, 'a');
    this.committed = resumeAt ?? 0;
    fs.ftruncateSync(this.fd, this.committed);
  }

  write(text: string): void {
    // A UTF-16 unit is at most three bytes of UTF-8: with that much room the text is never cut.
    if (this.room(text.length * 3)) this.buffered += this.buffer.write(text, this.buffered);
    else this.writeNow(Buffer.from(text, 'utf8'));
  }

  /** Bytes copied in at once, so the caller may use their buffer again. */
  writeCopy(bytes: Uint8Array): void {
    if (!this.room(bytes.byteLength)) {
      this.writeNow(bytes);
      return;
    }
    this.buffer.set(bytes, this.buffered);
    this.buffered += bytes.byteLength;
  }

  /** Makes room for `bytes` in the buffer, flushing what waits; false when they are more than it holds. */
  private room(bytes: number): boolean {
    if (this.pendingBytes > 0 || bytes > FLUSH_AT - this.buffered) this.flush();
    return bytes <= FLUSH_AT;
  }

  /** Bytes as they are, gathered and written together without being copied into one string. */
  writeBytes(bytes: Uint8Array): void {
    if (this.buffered > 0) this.flush();
    this.pending.push(bytes);
    this.pendingBytes += bytes.byteLength;
    if (this.pendingBytes >= FLUSH_AT) this.flush();
  }

  private flush(): void {
    if (this.buffered > 0) {
      this.writeNow(this.buffer.subarray(0, this.buffered));
      this.buffered = 0;
    }
    if (this.pendingBytes > 0) {
      let written = fs.writevSync(this.fd, this.pending);
      // writev may write less than asked; the rest goes with ordinary writes.
      for (const part of this.pending) {
        if (written >= part.byteLength) {
          written -= part.byteLength;
          continue;
        }
        writeAll(this.fd, part.subarray(written));
        written = 0;
      }
      this.noteWritten(this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
    }
  }

  private writeNow(bytes: Uint8Array): void {
    writeAll(this.fd, bytes);
    this.noteWritten(bytes.byteLength);
  }

  /**
   * Every SYNC_EVERY bytes the kernel is asked, on libuv's threads, to put them on disk while more
   * is written: a commit then waits only for the rest, and the writes are not slowed by the page
   * cache's writeback of a long run of dirty pages (a 470 MB export took 1.6 s with one sync at its
   * commit, 1.3 s so).
   */
  private noteWritten(bytes: number): void {
    this.unsynced += bytes;
    if (this.unsynced < SYNC_EVERY || this.syncing) return;
    this.unsynced = 0;
    this.syncing = true;
    this.syncFd ??= fs.openSync(this.path, 'r');
    const syncFd = this.syncFd;
    // A failure is for the commit's `fsync` to report (see `syncFd`); here it only means nothing was gained.
    fs.fdatasync(syncFd, () => {
      this.syncing = false;
      if (this.closeWhenSynced) fs.closeSync(syncFd);
    });
  }

  /** Everything written so far is kept; returns the size to resume from. */
  commit(): number {
    this.flush();
    fs.fsyncSync(this.fd);
    this.unsynced = 0;
    this.committed = fs.fstatSync(this.fd).size;
    return this.committed;
  }

  /** Drops whatever was written since the last commit. */
  rollback(): void {
    this.buffered = 0;
    this.pending = [];
    this.pendingBytes = 0;
    fs.ftruncateSync(this.fd, this.committed);
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
    // The syncs' descriptor is closed once the sync under way ends, which needs it open.
    if (this.syncing) this.closeWhenSynced = true;
    else if (this.syncFd !== null) fs.closeSync(this.syncFd);
  }
}

/** writeSync may write less than asked (a full disk, a signal); the rest follows until all is written. */
function writeAll(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.byteLength; ) at += fs.writeSync(fd, bytes, at);
}
