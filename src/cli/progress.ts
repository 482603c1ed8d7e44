import type { ClientEvent } from '../client/export-client.js';

/** Progress on stderr: a redrawn bar on a terminal, one plain line per window otherwise. */
export class Progress {
  private sessions = 0;
  private bytes = 0;
  /** Bytes of the window or page under way: a retry fetches it again from its start, so they no longer count. */
  private attemptBytes = 0;
  private windowsDone = 0;
  private readonly started = Date.now();
  private lastDraw = 0;

  constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly tty: boolean = Boolean(process.stderr.isTTY),
  ) {}

  addBytes(bytes: number): void {
    this.bytes += bytes;
    this.attemptBytes += bytes;
    if (this.tty && Date.now() - this.lastDraw > 100) this.draw();
  }

  windowDone(window: { startDate: string; endDate: string }, sessions: number, alreadyDone: number): void {
    this.windowsDone = Math.max(this.windowsDone, alreadyDone) + 1;
    this.sessions += sessions;
    this.attemptBytes = 0;
    if (this.tty) this.draw();
    else
      this.stream.write(
        `window ${this.windowsDone}/${this.total} ${window.startDate}..${window.endDate}: ${sessions} sessions (${this.summary()})\n`,
      );
  }

  /** A step whose count is not known ahead (a page of the change feed). */
  pageDone(label: string, sessions: number): void {
    this.windowsDone++;
    this.sessions += sessions;
    this.attemptBytes = 0;
    if (this.tty) this.draw();
    else this.stream.write(`${label}: ${sessions} sessions (${this.summary()})\n`);
  }

  /** What the export client reports of a window: its bytes as they arrive, and each retry as a line. */
  clientEvent(event: ClientEvent): void {
    if (event.type === 'bytes') this.addBytes(event.bytes);
    if (event.type === 'retry') {
      this.bytes -= this.attemptBytes;
      this.attemptBytes = 0;
      const { window, delayMs, reason } = event;
      this.note(`retrying ${window.startDate}..${window.endDate} in ${Math.ceil(delayMs / 1000)} s: ${reason}`);
    }
  }

  note(message: string): void {
    if (this.tty) this.stream.write('\r\x1b[K');
    this.stream.write(`${message}\n`);
    if (this.tty) this.draw();
  }

  end(): void {
    if (this.tty) {
      this.draw();
      this.stream.write('\n');
    }
  }

  private summary(): string {
    const seconds = Math.max(0.001, (Date.now() - this.started) / 1000);
    const rate = this.bytes / seconds;
    const left = this.total - this.windowsDone;
    const eta = this.windowsDone > 0 && this.total > 0 ? Math.round((seconds / this.windowsDone) * left) : null;
    const counts = `${this.sessions.toLocaleString('en')} sessions, ${megabytes(this.bytes)}, ${megabytes(rate)}/s`;
    // Pages of the change feed have no known total, so no ETA.
    return this.total > 0 ? `${counts}, ETA ${eta === null ? '?' : clock(eta)}` : counts;
  }

  private draw(): void {
    this.lastDraw = Date.now();
    const width = 24;
    if (this.total <= 0) {
      this.stream.write(`\r\x1b[K${this.windowsDone} pages, ${this.summary()}`);
      return;
    }
    const filled = Math.round((this.windowsDone / Math.max(1, this.total)) * width);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    this.stream.write(`\r\x1b[K[${bar}] ${this.windowsDone}/${this.total} windows, ${this.summary()}`);
  }
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MB`;
}

function clock(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = String(seconds % 60).padStart(2, '0');
  return `${m}:${s}`;
}
