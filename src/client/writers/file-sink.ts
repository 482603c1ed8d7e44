import fs from 'node:fs';

const FLUSH_AT = 1 << 20;

/**
 * An append-only file that can be cut back to its last commit: what an interrupted or retried export
 * needs so that a file only ever holds whole windows.
 */
export class FileSink {
  private fd: number;
  private buffer = '';
  private committed: number;

  constructor(readonly path: string, resumeAt: number | null) {
    if (resumeAt === null) fs.writeFileSync(path, '');
    // Append mode: after the file is cut back, the next write lands at the new end, not in a hole.
    this.fd = fs.openSync(path, 'a');
    this.committed = resumeAt ?? 0;
    fs.ftruncateSync(this.fd, this.committed);
  }

  write(text: string): void {
    this.buffer += text;
    if (this.buffer.length >= FLUSH_AT) this.flush();
  }

  private flush(): void {
    if (this.buffer === '') return;
    fs.writeSync(this.fd, this.buffer, null, 'utf8');
    this.buffer = '';
  }

  /** Everything written so far is kept; returns the size to resume from. */
  commit(): number {
    this.flush();
    fs.fsyncSync(this.fd);
    this.committed = fs.fstatSync(this.fd).size;
    return this.committed;
  }

  /** Drops whatever was written since the last commit. */
  rollback(): void {
    this.buffer = '';
    fs.ftruncateSync(this.fd, this.committed);
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }
}
