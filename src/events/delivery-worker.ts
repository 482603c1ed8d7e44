import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { DAY_MS } from '../contract/dates.js';
import type { EventsConfig } from '../config.js';
import type { ExportSession } from '../contract/schemas.js';
import type { AppMetrics } from '../http/metrics.js';
import { MailRefused, type Mailer } from '../mail/mailer.js';
import { composeMail } from '../mail/messages.js';
import type { AttemptOutcome, ClaimedDelivery, ClaimedMail, ClaimedWebhook } from '../store/events/outbox.js';
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

/**
 * Deliveries one claim takes at most, and so one destination's (a webhook endpoint's, or the SMTP
 * server's for all mail) in flight at once: a destination with deliveries in flight is passed over
 * by claims until all of them have ended, so a receiver that hangs holds up its own queue, for its
 * timeout, and not another endpoint's or organization's (docs/events.md). Every claimed delivery
 * is sent at once, except to an endpoint whose last attempt went unanswered (see `hanging`).
 */
const CLAIM = 32;
/** Deliveries a process has in flight at most, across destinations. */
const IN_FLIGHT = 256;
/**
 * A claim is this process's for twice the attempt timeout and 5 s more: well past any attempt it
 * makes (each is cut at the timeout), and soon enough that a process that died gives its work back.
 */
const leaseMs = (timeoutMs: number) => 2 * timeoutMs + 5000;

/** What a claimed delivery is sent to: its webhook endpoint, or the one SMTP server (a key no endpoint id takes). */
const MAIL = 'smtp:';
const destinationOf = (d: ClaimedDelivery) => (d.channel === 'webhook' ? (d.endpoint?.id ?? null) : MAIL);

type AttemptResult = Omit<AttemptOutcome, 'delivery' | 'leaseUntil'>;

/** An outcome with no attempt made, so nothing in the delivery log. */
const unattempted = (error: string | null) => ({ attempted: false, statusCode: null, durationMs: 0, error });

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
  /** Deliveries in flight per destination. */
  private readonly sending = new Map<string, number>();
  /** The attempts in flight, each until it has ended and its outcome is kept. */
  private readonly sends = new Set<Promise<void>>();
  /** Attempts that have ended and are not yet recorded. */
  private ended: AttemptOutcome[] = [];
  /** Whether a destination came free since the loop last claimed. */
  private freed = false;
  /**
   * Endpoints whose last attempt got no answer within the timeout: each is sent one delivery at a
   * time until it answers again, the others claimed with it given back to the queue unattempted.
   * Otherwise eight receivers that hang with a backlog would hold a claim's worth each, all of
   * IN_FLIGHT, and every other endpoint would wait for their timeouts.
   */
  private readonly hanging = new Set<string>();

  constructor(private readonly deps: DeliveryWorkerDeps) {
    this.resolve = deps.resolve ?? resolveWithDns;
    this.random = deps.random ?? Math.random;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Finishes the deliveries in hand and records them, then stops. */
  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.loop;
  }

  /**
   * Records what has ended, claims what is due for the destinations that are free, and sleeps when
   * there is nothing more to claim until a destination frees up or the poll interval passes.
   */
  private async run(): Promise<void> {
    while (this.running) {
      this.freed = false;
      await this.record();
      if (!this.running) break;
      let more = false;
      try {
        more = await this.claimAndSend();
      } catch (error) {
        this.deps.logger.error({ err: toError(error) }, 'delivery worker: claiming failed; trying again');
      }
      if (this.running && this.deps.clock.now() >= this.nextPruneAt) await this.pruneOld();
      if (!more && this.running && !this.freed) await this.sleep();
    }
    await Promise.all(this.sends);
    await this.record();
  }

  private async sleep(): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.deps.config.pollMs);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeUp = null;
  }

  /**
   * One claim for the free slots, passing over the destinations with deliveries in flight; its
   * sends start at once, not awaited. Whether to claim again at once: a claim that took all it
   * asked for may have left more due elsewhere.
   */
  private async claimAndSend(): Promise<boolean> {
    const limit = Math.min(CLAIM, IN_FLIGHT - this.sends.size);
    if (limit <= 0) return false;
    const now = this.deps.clock.now();
    const leaseUntil = now + leaseMs(this.deps.config.webhookTimeoutMs) + Math.floor(this.random() * 1000);
    const busy = [...this.sending.keys()];
    const mailFree = this.deps.mailer && !this.sending.has(MAIL) && !this.deps.mailer.busy();
    const channels = mailFree ? (['webhook', 'email'] as const) : (['webhook'] as const);
    const claimed = await this.deps.store.outbox.claimDue(
      now,
      leaseUntil,
      limit,
      [...channels],
      busy.filter((key) => key !== MAIL),
    );
    for (const delivery of claimed) {
      const destination = destinationOf(delivery);
      if (destination !== null && this.hanging.has(destination) && this.sending.has(destination)) this.giveBack(delivery, leaseUntil, now);
      else this.send(delivery, leaseUntil);
    }
    return claimed.length === limit;
  }

  /**
   * A claimed delivery back in the queue as it was, due when it was, no attempt made or logged; at
   * the loop's next turn, not after its sleep, so that another process may take it meanwhile.
   */
  private giveBack(delivery: ClaimedDelivery, leaseUntil: number, at: number): void {
    this.ended.push({ ...unattempted(null), state: 'pending', at, nextAttemptAt: delivery.dueAt, delivery, leaseUntil });
    this.freed = true;
  }

  /** One attempt, its outcome kept for the next record; the loop is woken once its destination has nothing in flight. */
  private send(delivery: ClaimedDelivery, leaseUntil: number): void {
    const destination = destinationOf(delivery);
    if (destination !== null) this.sending.set(destination, (this.sending.get(destination) ?? 0) + 1);
    const attempt = delivery.channel === 'webhook' ? this.sendWebhook(delivery) : this.sendMail(delivery);
    const sent = attempt
      .then(
        (outcome) => void this.ended.push({ ...outcome, delivery, leaseUntil }),
        (error: unknown) => {
          // A fault of ours, not the receiver's: a failed attempt all the same, so the schedule
          // bounds its retries; the admins' log says so, the server's log has the error. Not a
          // sign of hanging either: one at a time, such attempts would end at once, turn after turn.
          if (destination !== null) this.hanging.delete(destination);
          this.deps.logger.error({ err: toError(error), delivery: delivery.id }, 'delivery worker: sending failed');
          if (delivery.channel === 'webhook') this.deps.metrics.webhookAttempted('failure');
          else this.deps.metrics.emailAttempted('failure');
          const at = this.deps.clock.now();
          const failed = {
            attempted: true,
            statusCode: null,
            durationMs: 0,
            error: 'Coachport could not send it (see the server log).',
            at,
          };
          this.ended.push({ ...failed, ...this.retry(delivery.attempts, at), delivery, leaseUntil });
        },
      )
      .finally(() => {
        const wasFull = this.sends.size === IN_FLIGHT;
        this.sends.delete(sent);
        const left = destination === null ? 0 : this.sending.get(destination)! - 1;
        if (destination !== null && left > 0) this.sending.set(destination, left);
        else if (destination !== null) this.sending.delete(destination);
        if (left === 0 || wasFull) {
          this.freed = true;
          this.wakeUp?.();
        }
      });
    this.sends.add(sent);
  }

  /** The attempts that have ended, with their deliveries' next states, in one transaction. */
  private async record(): Promise<void> {
    const outcomes = this.ended;
    if (outcomes.length === 0) return;
    this.ended = [];
    try {
      await this.deps.store.outbox.finish(outcomes);
    } catch {
      // One at a time, so that one that cannot be recorded (a deadlock with another process, say)
      // does not take the others with it; those that fail run out their claims and are sent again.
      for (const outcome of outcomes) {
        try {
          await this.deps.store.outbox.finish([outcome]);
        } catch (error) {
          this.deps.logger.error({ err: toError(error), delivery: outcome.delivery.id }, 'delivery worker: recording an attempt failed');
        }
      }
    }
  }

  /**
   * Forgets events and logged attempts older than the retention (EVENT_RETENTION_DAYS), except an
   * event a queued delivery still needs: an event keeps the session's whole document, so without
   * this an organization with webhooks grows by a document every change, for ever.
   */
  private async pruneOld(): Promise<void> {
    const now = this.deps.clock.now();
    this.nextPruneAt = now + PRUNE_EVERY_MS;
    // Forgotten hourly, so that endpoints deleted while hanging do not stay in it: one that still
    // hangs shows it again within a claim's worth of attempts.
    this.hanging.clear();
    const before = now - this.deps.config.retentionDays * DAY_MS;
    const forgotten = { events: 0, attempts: 0 };
    try {
      for (let round = 0; round < PRUNE_ROUNDS && this.running; round++) {
        // Sends go on meanwhile: what they come to is recorded between rounds, well inside their claims.
        await this.record();
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
    if (!d.endpoint) return { ...unattempted('endpoint deleted or off'), state: 'cancelled', at, nextAttemptAt: null };
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
    if (response.timedOut) this.hanging.add(d.endpoint.id);
    else this.hanging.delete(d.endpoint.id);
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
    if (!d.recipient || !mailer) return { ...unattempted('recipient takes no mail'), state: 'cancelled', at, nextAttemptAt: null };
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
