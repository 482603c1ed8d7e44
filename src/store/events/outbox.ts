import type { QueuedMail } from '../../events/mail-kinds.js';
import type { DeliveryChannel, DeliveryState } from '../schema.js';

/** A delivery's key: its id and when it fell due as claimed (the table is kept in that order). */
interface DeliveryKey {
  id: string;
  dueAt: number;
}

export interface ClaimedWebhook extends DeliveryKey {
  channel: 'webhook';
  orgId: string;
  /** Attempts made before this one. */
  attempts: number;
  eventId: string;
  type: string;
  body: string;
  /** Null when the endpoint was deleted or turned off after the delivery was queued. */
  endpoint: { id: string; url: string; secrets: string[] } | null;
}

export interface MailRecipient {
  id: string;
  email: string;
  name: string;
  language: string | null;
}

export interface ClaimedMail extends DeliveryKey {
  channel: 'email';
  orgId: string;
  attempts: number;
  eventId: string | null;
  mail: QueuedMail;
  /** The event's body (for a session mail: the session as it was changed), or null for an invite. */
  eventBody: string | null;
  /** Null when the person no longer takes this mail: deactivated, without an email, or switched off. */
  recipient: MailRecipient | null;
  organizationName: string;
}

export type ClaimedDelivery = ClaimedWebhook | ClaimedMail;

/** What one attempt came to, recorded with the delivery's next state in one transaction. */
export interface AttemptOutcome {
  delivery: ClaimedDelivery;
  /** The lease the claim took: an attempt whose lease another process has taken over is not recorded twice. */
  leaseUntil: number;
  state: DeliveryState;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  at: number;
  nextAttemptAt: number | null;
  /** Whether the attempt was made (false: cancelled, or given back to the queue, before sending; nothing goes into the log). */
  attempted: boolean;
  /** Turns the endpoint off, with the reason shown to admins (a 410 Gone). */
  disableEndpoint?: string;
}

/** The delivery worker's side of the outbox: across organizations, claims due deliveries and records attempts. */
export interface Outbox {
  /**
   * Takes up to `limit` due deliveries for this process until `leaseUntil`: after that, if this
   * process died, another takes them over (at-least-once). Several processes claim different rows.
   * Deliveries to the endpoints in `skipEndpoints` (those this process is still sending to) stay queued.
   */
  claimDue(
    now: number,
    leaseUntil: number,
    limit: number,
    channels: DeliveryChannel[],
    skipEndpoints?: string[],
  ): Promise<ClaimedDelivery[]>;
  /**
   * Records each attempt with its delivery's next state, all in one transaction (one commit for a
   * claim's sends, not one each); an attempt whose claim another process had taken over, or whose
   * delivery was cancelled meanwhile, is not logged. Answers how many were recorded.
   */
  finish(outcomes: AttemptOutcome[]): Promise<number>;
  /**
   * Forgets, oldest first and across organizations, up to `limit` events from before `before` that
   * no queued delivery still needs, and up to `limit` logged attempts from before it, in one
   * transaction. Answers how many of each went, and whether more may be left.
   */
  prune(before: number, limit: number): Promise<PruneResult>;
}

export interface PruneResult {
  events: number;
  attempts: number;
  /** Every row looked at was old: another call may find more. */
  more: boolean;
}
