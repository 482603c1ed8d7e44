/** Time for the client; tests pass their own so that waiting costs nothing. */
export interface ClientClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: ClientClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const aborted = () => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      // The listener goes with the sleep: a command's one signal outlives thousands of them (sync --watch).
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', aborted);
        resolve();
      }, ms);
      signal?.addEventListener('abort', aborted, { once: true });
    }),
};

/**
 * Spaces calls so that in any second at most `perSecond`, and in any minute at most `perMinute`,
 * have been sent: the server's own sliding windows, kept on this side so 429s are the exception.
 * A call counts from when its answer began (`answered`), not from when it was sent: the server
 * counts it on arrival, and a first call that took longer to arrive (a new connection, a server
 * still warming up) than the next would otherwise be counted less than a second before it.
 */
export class Pacer {
  private readonly sent: number[] = [];

  constructor(
    private readonly clock: ClientClock,
    private readonly perSecond: number,
    private readonly perMinute: number,
  ) {}

  /** How long to wait before the next call may go. */
  delay(): number {
    const now = this.clock.now();
    while (this.sent.length > 0 && this.sent[0]! <= now - 60_000) this.sent.shift();
    let wait = 0;
    for (const [limit, windowMs] of [
      [this.perSecond, 1_000],
      [this.perMinute, 60_000],
    ] as const) {
      const inWindow = this.sent.filter((t) => t > now - windowMs);
      if (inWindow.length >= limit) wait = Math.max(wait, inWindow[inWindow.length - limit]! + windowMs - now);
    }
    return wait;
  }

  async take(signal?: AbortSignal): Promise<void> {
    for (let wait = this.delay(); wait > 0; wait = this.delay()) await this.clock.sleep(wait, signal);
    this.sent.push(this.clock.now());
  }

  /** The latest call's answer began: the server counted it at this time at the latest. */
  answered(): void {
    if (this.sent.length > 0) this.sent[this.sent.length - 1] = this.clock.now();
  }

  /** The server said wait: nothing goes out before then. */
  async holdFor(ms: number, signal?: AbortSignal): Promise<void> {
    await this.clock.sleep(ms, signal);
  }
}
