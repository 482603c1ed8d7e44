import type { AccountsTx } from '../accounts-store.js';

export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  active: boolean;
  /** Why the server turned the endpoint off (a 410 from the receiver), or null. */
  disabledReason: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface EndpointChanges {
  url?: string;
  events?: string[];
  active?: boolean;
  description?: string | null;
}

/** One attempt as the deliveries log shows it; `seq` orders the log (newest first) and makes its cursor. */
export interface DeliveryAttempt {
  seq: string;
  eventId: string | null;
  type: string;
  attempt: number;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  at: number;
  nextAttemptAt: number | null;
}

/** Webhook endpoints and their events, inside one transaction of one organization, beside the accounts ones (for audit). */
export interface WebhooksTx {
  readonly accounts: AccountsTx;
  listEndpoints(): Promise<WebhookEndpoint[]>;
  getEndpoint(id: string): Promise<WebhookEndpoint | null>;
  insertEndpoint(endpoint: WebhookEndpoint, secret: string): Promise<void>;
  /** Applies the changes; turning an endpoint off cancels what it still had to receive. False if there is no such endpoint. */
  updateEndpoint(id: string, changes: EndpointChanges, now: number): Promise<boolean>;
  /** Removes the endpoint, its pending deliveries and its log. */
  deleteEndpoint(id: string): Promise<boolean>;
  /** A new signing secret; the old one keeps signing until `previousUntil`. */
  rotateSecret(id: string, secret: string, previousUntil: number, now: number): Promise<boolean>;
  /** An event for this endpoint only (a test event), queued now; answers its id. `body` is as stored (event-body.ts). */
  queueEvent(endpointId: string, event: { type: string; createdAt: number; body: string }): Promise<string>;
  /** Queues the event again for the endpoint, as a fresh delivery; false if the organization has no such event. */
  redeliver(endpointId: string, eventId: string, now: number): Promise<boolean>;
  /** The endpoint's attempts, newest first, older than `beforeSeq` when given. */
  listAttempts(endpointId: string, beforeSeq: string | null, limit: number): Promise<DeliveryAttempt[]>;
}
