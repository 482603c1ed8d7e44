import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { DAY_MS } from '../contract/dates.js';
import type { EventsConfig } from '../config.js';
import type { ExportSession } from '../contract/schemas.js';
import type { AppMetrics } from '../http/metrics.js';
import { MailRefused, type Mailer } from '../mail/mailer.js';
import { composeMail } from '../mail/messages.js';
import type { AttemptOutcome, ClaimedMail, ClaimedWebhook } from '../store/events/outbox.js';
import type { Store } from '../store/store.js';
import { toError } from '../to-error.js';
import { resolveWithDns, type ResolveHost } from '../webhooks/addresses.js';
import { nextAttemptAt, retryAfterMs } from '../webhooks/retry.js';
import { postWebhook } from '../webhooks/send.js';
import { signatureHeader } from '../webhooks/signing.js';

export interface DeliveryWorkerDeps {
  store: Store;
  config: EventsConfig;
  publicUrl: string;
  clock: Clock;
  logger: Logger;
  metrics: AppMetrics;
  mailer: Mailer | null;
  resolve?: ResolveHost;
  random?: () => number;
}

/** Deliveries one claim takes, sent at once. */
const BATCH = 32;
/**
 * A claim is this process's for twice the attempt timeout and 5 s more: well past any attempt it
 * makes (each is cut at the timeout), and soon enough that a process that died gives its work back.
 */
const leaseMs = (timeoutMs: number) => 2 * timeoutMs + 5000;

type AttemptResult = Omit<AttemptOutcome, 'delivery' | 'leaseUntil'>;

/** How often each process forgets what is past the retention (several processes doing it is harmless). */
const PRUNE_EVERY_MS = 3_600_000;
/** Rows of each table one prune transaction deletes: short write locks, between the deliveries. */
const PRUNE_BATCH = 1000;
/** Prune transactions a pass makes at most; a larger backlog goes on at the next pass. */
const PRUNE_ROUNDS = 100;

/**
 * Sends what the outbox holds (SPEC §11), in every `coachport serve`: claims due deliveries (several
 * processes take different ones), sends each, and records the attempt with the next state. A crash
 * loses nothing: an unfinished claim runs out and the delivery is sent again (at-least-once).
 */
export class DeliveryWorker {
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private readonly resolve: ResolveHost;
  private readonly random: () => number;
  private nextPruneAt = 0;

  constructor(private readonly deps: DeliveryWorkerDeps) {
    this.resolve = deps.resolve ?? resolveWithDns;
    this.random = deps.random ?? Math.random;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Finishes the deliveries in hand, then stops. */
  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let handled = 0;
      try {
        handled = await this.runOnce();
      } catch (error) {
        this.deps.logger.error({ err: toError(error) }, 'delivery worker: claiming failed; trying again');
      }
      if (this.running && this.deps.clock.now() >= this.nextPruneAt) await this.pruneOld();
      if (handled === 0 && this.running) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.deps.config.pollMs);
          this.wakeUp = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeUp = null;
      }
    }
  }

  /** One claim and its sends; the number of deliveries handled. */
  async runOnce(): Promise<number> {
    const now = this.deps.clock.now();
    const leaseUntil = now + leaseMs(this.deps.config.webhookTimeoutMs) + Math.floor(this.random() * 1000);
    const channels = this.deps.mailer ? (['webhook', 'email'] as const) : (['webhook'] as const);
    const claimed = await this.deps.store.outbox.claimDue(now, leaseUntil, BATCH, [...channels]);
    const outcomes = await Promise.all(
      claimed.map(async (delivery) => {
        const outcome = delivery.channel === 'webhook' ? await this.sendWebhook(delivery) : await this.sendMail(delivery);
        return { ...outcome, delivery, leaseUntil };
      }),
    );
    try {
      await this.deps.store.outbox.finish(outcomes);
    } catch (error) {
      // The claims run out and the deliveries are tried again: nothing is lost.
      this.deps.logger.error({ err: toError(error), deliveries: claimed.length }, 'delivery worker: recording attempts failed');
    }
    return claimed.length;
  }

  /**
   * Forgets events and logged attempts older than the retention (EVENT_RETENTION_DAYS), except an
   * event a queued delivery still needs: an event keeps the session's whole document, so without
   * this an organization with webhooks grows by a document every change, for ever.
   */
  private async pruneOld(): Promise<void> {
    const now = this.deps.clock.now();
    this.nextPruneAt = now + PRUNE_EVERY_MS;
    const before = now - this.deps.config.retentionDays * DAY_MS;
    const forgotten = { events: 0, attempts: 0 };
    try {
      for (let round = 0; round < PRUNE_ROUNDS; round++) {
        const pruned = await this.deps.store.outbox.prune(before, PRUNE_BATCH);
        forgotten.events += pruned.events;
        forgotten.attempts += pruned.attempts;
        if (!pruned.more) break;
      }
    } catch (error) {
      this.deps.logger.error({ err: toError(error) }, 'delivery worker: forgetting old events failed; trying again at the next pass');
    }
    if (forgotten.events + forgotten.attempts > 0) {
      this.deps.logger.info(
        { ...forgotten, retentionDays: this.deps.config.retentionDays },
        'delivery worker: forgot events and attempts past their retention',
      );
    }
  }

  private retry(attempts: number, at: number, retryAfter: number | null = null): Pick<AttemptResult, 'state' | 'nextAttemptAt'> {
    const next = nextAttemptAt(attempts + 1, at, this.deps.config.retryScheduleSeconds, this.random, retryAfter);
    return next === null ? { state: 'failed', nextAttemptAt: null } : { state: 'pending', nextAttemptAt: next };
  }

  private async sendWebhook(d: ClaimedWebhook): Promise<AttemptResult> {
    const at = this.deps.clock.now();
    if (!d.endpoint) {
      return {
        state: 'cancelled',
        attempted: false,
        statusCode: null,
        durationMs: 0,
        error: 'endpoint deleted or off',
        at,
        nextAttemptAt: null,
      };
    }
    const timestamp = Math.floor(at / 1000);
    const response = await postWebhook({
      url: d.endpoint.url,
      headers: {
        'webhook-id': d.eventId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureHeader(d.endpoint.secrets, d.eventId, timestamp, d.body),
      },
      body: d.body,
      timeoutMs: this.deps.config.webhookTimeoutMs,
      allowPrivate: this.deps.config.allowPrivate,
      resolve: this.resolve,
    });
    const base = { attempted: true, statusCode: response.statusCode, durationMs: response.durationMs, error: response.error, at };
    if (response.error === null) {
      this.deps.metrics.webhookAttempted('success');
      return { ...base, state: 'sent', nextAttemptAt: null };
    }
    if (response.statusCode === 410) {
      this.deps.metrics.webhookAttempted('gone');
      return { ...base, state: 'failed', nextAttemptAt: null, disableEndpoint: 'The receiver answered 410 Gone.' };
    }
    this.deps.metrics.webhookAttempted(response.refused ? 'refused' : 'failure');
    // The wait is counted from the failure (an answer, or a timeout up to WEBHOOK_TIMEOUT_MS after `at`), not from the attempt's start.
    const failedAt = this.deps.clock.now();
    const honoured = response.statusCode === 429 || response.statusCode === 503 ? retryAfterMs(response.retryAfter, failedAt) : null;
    return { ...base, ...this.retry(d.attempts, failedAt, honoured) };
  }

  private async sendMail(d: ClaimedMail): Promise<AttemptResult> {
    const at = this.deps.clock.now();
    const mailer = this.deps.mailer;
    if (!d.recipient || !mailer) {
      return {
        state: 'cancelled',
        attempted: false,
        statusCode: null,
        durationMs: 0,
        error: 'recipient takes no mail',
        at,
        nextAttemptAt: null,
      };
    }
    const session = d.eventBody ? (JSON.parse(d.eventBody) as { data: { session: ExportSession } }).data.session : null;
    const language = d.recipient.language ?? (d.mail.kind === 'invite' ? d.mail.inviterLanguage : null);
    const message = composeMail(d.mail, d.recipient.email, language, {
      recipientName: d.recipient.name,
      organizationName: d.organizationName,
      publicUrl: this.deps.publicUrl,
      session,
    });
    const started = performance.now();
    try {
      await mailer.send(message);
      this.deps.metrics.emailAttempted('sent');
      return {
        state: 'sent',
        attempted: true,
        statusCode: null,
        durationMs: performance.now() - started,
        error: null,
        at,
        nextAttemptAt: null,
      };
    } catch (error) {
      this.deps.metrics.emailAttempted('failure');
      const base = { attempted: true, statusCode: null, durationMs: performance.now() - started, error: toError(error).message, at };
      if (error instanceof MailRefused) return { ...base, state: 'failed', nextAttemptAt: null };
      return { ...base, ...this.retry(d.attempts, this.deps.clock.now()) };
    }
  }
}
