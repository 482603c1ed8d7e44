import type { Logger } from 'pino';
import type { Store } from '../store/store.js';

/** How often a server splices the names imports left: a session shows a rename within about a minute. */
const SWEEP_EVERY_MS = 60_000;
/** The longest wait between passes while names stay held, in passes: each holds the organization's writes up to 5 s a name. */
const LONGEST_WAITS = 16;

/**
 * In every `coachport serve`: at start, then every minute, splices the names that imports left to
 * splice (Store.spliceNamesLeft; PostgreSQL, where writes run beside an import). While a pass
 * leaves names (a long transaction holds them), the next waits twice as long, up to 16 minutes:
 * each try queues the organization's writes behind it for up to 5 s, and several servers each try.
 * Two servers splicing at once take turns by the names lock; a name one has spliced the other
 * finds gone from the record and passes over.
 */
export class NamesLeftSweep {
  private timer: NodeJS.Timeout | null = null;
  private pass: Promise<void> = Promise.resolve();
  private waitMs: number;
  private readonly stopping = new AbortController();

  private readonly everyMs: number;
  private readonly onPass: (left: number) => void;

  /** `everyMs`: between passes (a minute); `onPass`: told the names left after each pass (a metric; NaN: unknown). */
  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    options: { everyMs?: number; onPass?: (left: number) => void } = {},
  ) {
    this.everyMs = options.everyMs ?? SWEEP_EVERY_MS;
    this.onPass = options.onPass ?? (() => undefined);
    this.waitMs = this.everyMs;
  }

  start(): void {
    this.pass = this.sweep();
  }

  private async sweep(): Promise<void> {
    const held = await this.once();
    this.waitMs = held ? Math.min(this.waitMs * 2, LONGEST_WAITS * this.everyMs) : this.everyMs;
    if (!this.stopping.signal.aborted) this.timer = setTimeout(() => (this.pass = this.sweep()), this.waitMs).unref();
  }

  /**
   * One pass, its outcome logged; never throws. Answers whether names were left only because they
   * are held (a long transaction, an import under way): then the next pass waits longer. A failure
   * of another kind is logged at every pass, and reported as names left of unknown number (NaN).
   */
  async once(): Promise<boolean> {
    let outcome: Awaited<ReturnType<Store['spliceNamesLeft']>>;
    try {
      outcome = await this.store.spliceNamesLeft(this.stopping.signal);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not splice the names imports left; trying again later');
      this.onPass(Number.NaN);
      return false;
    }
    const { spliced, left, failures } = outcome;
    this.onPass(failures.length > 0 ? Number.NaN : left);
    if (spliced > 0) this.logger.info({ spliced, left }, 'spliced names an import had left');
    if (failures.length > 0) this.logger.warn({ failures }, 'could not splice names an import had left');
    else if (left > 0) this.logger.warn({ left }, 'names an import changed are still to be spliced; trying again later');
    return left > 0 && failures.length === 0;
  }

  /** Stops: the pass under way ends after the name it is splicing. */
  async stop(): Promise<void> {
    this.stopping.abort();
    if (this.timer) clearTimeout(this.timer);
    await this.pass;
  }
}
