import type { ActivityLogEntry } from '../contract/schemas.js';
import { isoString } from '../contract/dates.js';
import { newId } from '../ids.js';

/** An event id: the `webhook-id` of every attempt, on which receivers deduplicate. */
export function newEventId(now: number): string {
  return `evt_${newId(now)}`;
}

/**
 * A session event's body as it is signed and sent: `data.session` is the session's stored export
 * document, spliced in as text (it is already JSON), so no document is parsed to send it.
 */
export function sessionEventBody(
  event: { id: string; type: string; createdAt: number; orgId: string },
  sessionJson: string,
  entry: ActivityLogEntry,
): string {
  const timestamp = JSON.stringify(isoString(event.createdAt));
  const head = `{"id":${JSON.stringify(event.id)},"type":${JSON.stringify(event.type)},"timestamp":${timestamp}`;
  return `${head},"organizationId":${JSON.stringify(event.orgId)},"data":{"session":${sessionJson},"entry":${JSON.stringify(entry)}}}`;
}

export function testEventBody(event: { id: string; type: string; createdAt: number; orgId: string }, webhookId: string): string {
  return JSON.stringify({
    id: event.id,
    type: event.type,
    timestamp: isoString(event.createdAt),
    organizationId: event.orgId,
    data: { webhookId },
  });
}
