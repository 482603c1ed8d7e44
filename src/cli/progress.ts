import type { ClientEvent } from '../client/export-client.js';
import { groupedDigits } from '../digits.js';

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** Redraw one bar (the default where stderr is a terminal), unless `json`. */
  tty?: boolean;
  /** The command's `--json`: one JSON object a line. */
  json?: boolean;
  /** For the tests: the clock the rate and the ETA are timed by. */
  now?: () => number;
}

/** A retry as the lines say it: in how long, why, and of which window where there is one. */
export interface RetryLine {
  inSeconds: number;
  reason: string;
  window?: { startDate: string; endDate: string };
  attempt?: number;
}

/**
 * Progress on stderr: a redrawn bar on a terminal, one plain line per window otherwise; with
 * `json` (the command's `--json`), one JSON object per line and never a bar, so that a program
 * reading stderr parses every line of it (see `stderrLine`).
 */
export class Progress {
  private sessions = 0;
  private bytes = 0;
  /** Bytes of the window or page under way: a retry fetches it again from its start, so they no longer count. */
  private attemptBytes = 0;
  private windowsDone = 0;
  /** Windows done before this run (an export resumed): not counted in the rate of windows the ETA is made of. */
  private doneBefore: number | null = null;
  private lastDraw = 0;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly json: boolean;
  private readonly now: () => number;
  private readonly started: number;

  constructor(
    private readonly total: number,
    options: ProgressOptions = {},
  ) {
    this.stream = options.stream ?? process.stderr;
    this.json = options.json === true;
    this.tty = (options.tty ?? Boolean(process.stderr.isTTY)) && !this.json;
    this.now = options.now ?? Date.now;
    this.started = this.now();
  }

  addBytes(bytes: number): void {
    this.bytes += bytes;
    this.attemptBytes += bytes;
    if (this.tty && this.now() - this.lastDraw > 100) this.draw();
  }

  windowDone(window: { startDate: string; endDate: string }, sessions: number, alreadyDone: number): void {
    this.doneBefore ??= alreadyDone;
    this.windowsDone = Math.max(this.windowsDone, alreadyDone) + 1;
    this.sessions += sessions;
    this.attemptBytes = 0;
    if (this.tty) this.draw();
    else if (this.json) {
      const { startDate, endDate } = window;
      this.writeJson({ progress: { window: this.windowsDone, windows: this.total, startDate, endDate, sessions, ...this.figures() } });
    } else
      this.stream.write(
        `window ${this.windowsDone}/${this.total} ${window.startDate}..${window.endDate}: ${sessions} sessions (${this.summary()})\n`,
      );
  }

  /** A step whose count is not known ahead (a page of the change feed); `details` go in its JSON line. */
  pageDone(label: string, sessions: number, details: Record<string, unknown> = {}): void {
    this.windowsDone++;
    this.sessions += sessions;
    this.attemptBytes = 0;
    if (this.tty) this.draw();
    else if (this.json) this.writeJson({ progress: { page: this.windowsDone, ...details, sessions, ...this.figures() } });
    else this.stream.write(`${label}: ${sessions} sessions (${this.summary()})\n`);
  }

  /** What the export client reports of a window: its bytes as they arrive, and each retry as a line. */
  clientEvent(event: ClientEvent): void {
    if (event.type === 'bytes') this.addBytes(event.bytes);
    if (event.type === 'retry') {
      this.bytes -= this.attemptBytes;
      this.attemptBytes = 0;
      const { window, attempt, delayMs, reason } = event;
      this.retry({ inSeconds: Math.ceil(delayMs / 1000), reason, window, attempt });
    }
  }

  retry({ inSeconds, reason, window, attempt }: RetryLine): void {
    if (this.json) {
      this.writeJson({ retry: { ...(window && { startDate: window.startDate, endDate: window.endDate }), attempt, inSeconds, reason } });
      return;
    }
    this.note(`retrying ${window ? `${window.startDate}..${window.endDate} ` : ''}in ${inSeconds} s: ${reason}`);
  }

  note(message: string): void {
    if (this.json) {
      this.writeJson({ note: message });
      return;
    }
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

  /** What the lines say of the whole so far; `etaSeconds` null where the total is not known (pages of the change feed). */
  private figures(): { totalSessions: number; bytes: number; bytesPerSecond: number; etaSeconds: number | null } {
    const seconds = Math.max(0.001, (this.now() - this.started) / 1000);
    const left = this.total - this.windowsDone;
    const doneNow = this.windowsDone - (this.doneBefore ?? 0);
    const etaSeconds = doneNow > 0 && this.total > 0 ? Math.round((seconds / doneNow) * left) : null;
    return { totalSessions: this.sessions, bytes: this.bytes, bytesPerSecond: Math.round(this.bytes / seconds), etaSeconds };
  }

  private summary(): string {
    const { totalSessions, bytes, bytesPerSecond, etaSeconds } = this.figures();
    const counts = `${groupedDigits(totalSessions)} sessions, ${megabytes(bytes)}, ${megabytes(bytesPerSecond)}/s`;
    return this.total > 0 ? `${counts}, ETA ${etaSeconds === null ? '?' : clock(etaSeconds)}` : counts;
  }

  private writeJson(line: Record<string, unknown>): void {
    this.stream.write(`${JSON.stringify(line)}\n`);
  }

  private draw(): void {
    this.lastDraw = this.now();
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
