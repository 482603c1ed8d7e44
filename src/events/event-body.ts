import type { ActivityLogEntry } from '../contract/schemas.js';
import { isoString } from '../contract/dates.js';

/**
 * An event id, the `webhook-id` of every attempt, on which receivers deduplicate: the second it
 * happened and its row's number in the events table (24 hex digits, as the other ids), so an id
 * finds its row without an index of ids, which every write that queues an event would update.
 */
export function eventId(createdAt: number, seq: number): string {
  const seconds = Math.floor(createdAt / 1000) >>> 0;
  return `evt_${seconds.toString(16).padStart(8, '0')}${seq.toString(16).padStart(16, '0')}`;
}

/** The events row an id names, or null for text that is no event id. */
export function eventSeqOf(id: string): number | null {
  const match = /^evt_[0-9a-f]{8}([0-9a-f]{16})$/.exec(id);
  if (!match) return null;
  const seq = Number.parseInt(match[1]!, 16);
  return Number.isSafeInteger(seq) ? seq : null;
}

/** The body as signed and sent: the id, known once its row is written, then the body as stored. */
export function withEventId(id: string, storedBody: string): string {
  return `{"id":${JSON.stringify(id)},${storedBody}`;
}

/**
 * A session event's body as stored, without its leading `{"id":…,` (withEventId puts it back):
 * `data.session` is the session's stored export document, spliced in as text (it is already JSON),
 * so no document is parsed to send it.
 */
export function sessionEventBody(
  event: { type: string; createdAt: number; orgId: string },
  sessionJson: string,
  entry: ActivityLogEntry,
): string {
  const timestamp = JSON.stringify(isoString(event.createdAt));
  const head = `"type":${JSON.stringify(event.type)},"timestamp":${timestamp}`;
  return `${head},"organizationId":${JSON.stringify(event.orgId)},"data":{"session":${sessionJson},"entry":${JSON.stringify(entry)}}}`;
}

/** A body as stored: its JSON text without the opening brace. */
const storedBody = (body: object) => JSON.stringify(body).slice(1);

/** A test event's body as stored, as sessionEventBody's. */
export function testEventBody(event: { type: string; createdAt: number; orgId: string }, webhookId: string): string {
  return storedBody({
    type: event.type,
    timestamp: isoString(event.createdAt),
    organizationId: event.orgId,
    data: { webhookId },
  });
}
