import type { SessionAction } from '../events/event-types.js';
import type { Actor } from './actor.js';
import type { LogEntryRecord } from './records.js';

export function logEntry(actor: Actor, actionType: SessionAction, descriptions: string[], now: number): LogEntryRecord {
  return {
    userId: actor.user.id,
    userEmail: actor.user.email,
    actionType,
    descriptions,
    timestamp: now,
    ipAddress: actor.ipAddress,
  };
}
