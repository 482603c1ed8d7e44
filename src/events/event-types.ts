/**
 * What a coaching change writes in a session's activity log (SPEC §3); each is also an event of
 * type `session.<action>` (SPEC §11). Imported entries may carry other types; imports send no events.
 */
export const SESSION_ACTIONS = [
  'created',
  'updated',
  'deleted',
  'shared',
  'coach_confirmed',
  'agent_confirmed',
  'coaching_point_added',
  'coaching_point_updated',
  'coaching_point_deleted',
  'todo_added',
  'todo_updated',
  'todo_completed',
  'todo_reopened',
  'todo_deleted',
] as const;

export type SessionAction = (typeof SESSION_ACTIONS)[number];

/** Sent by `POST /api/v1/webhooks/:id/test` to that endpoint only, whatever it subscribes to. */
export const TEST_EVENT_TYPE = 'webhook.test';

export const SESSION_EVENT_TYPES: readonly string[] = SESSION_ACTIONS.map((action) => `session.${action}`);

/** What an endpoint may subscribe to: the session events one by one, or "*" for all of them. */
export const SUBSCRIBABLE = [...SESSION_EVENT_TYPES, '*'] as const;

export function eventTypeOf(action: string): string {
  return `session.${action}`;
}

/** Whether an endpoint subscribed to `events` wants an event of this type. */
export function subscribes(events: readonly string[], type: string): boolean {
  return events.includes('*') || events.includes(type);
}
