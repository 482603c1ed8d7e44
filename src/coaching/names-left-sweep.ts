import type { Logger } from 'pino';
import type { Store } from '../store/store.js';

/** How often a server splices the names imports left: soon enough that a session shows a rename within about a minute. */
const SWEEP_EVERY_MS = 60_000;

/**
 * In every `coachport serve`: at start, then every minute, splices the names that imports left to
 * splice (Store.spliceNamesLeft; PostgreSQL, where writes run beside an import). Several servers
 * doing it at once is harmless: each name's splice takes the names lock, and the second finds the
 * documents showing it already.
 */
export class NamesLeftSweep {
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private pass: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly everyMs = SWEEP_EVERY_MS,
  ) {}

  start(): void {
    this.running = true;
    this.pass = this.sweep();
  }

  private async sweep(): Promise<void> {
    await this.once();
    if (this.running) this.timer = setTimeout(() => (this.pass = this.sweep()), this.everyMs).unref();
  }

  /** One pass, its outcome logged; never throws. */
  async once(): Promise<void> {
    try {
      const { spliced, left } = await this.store.spliceNamesLeft();
      if (spliced > 0) this.logger.info({ spliced, left }, 'spliced names an import had left');
      if (left > 0) this.logger.warn({ left }, 'names an import changed are still to be spliced; trying again in a minute');
    } catch (error) {
      this.logger.warn({ err: error }, 'could not splice the names imports left; trying again in a minute');
    }
  }

  /** Stops, after the pass under way. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.pass;
  }
}
