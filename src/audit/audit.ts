import type { Actor } from '../coaching/actor.js';
import { isoString } from '../contract/dates.js';
import type { AuditRecord, StoredAuditEntry } from '../store/accounts-store.js';
import type { AuditAction } from './actions.js';

/** Details are small facts about the change (field names, counts, a window), never values a person typed as a secret. */
export type AuditDetails = Record<string, string | number | boolean | null | string[]>;

/** Who did it: a signed-in person, or someone at the server's own terminal (the command line). */
export type AuditActor = Pick<Actor, 'user' | 'ipAddress'> | null;

export const target = {
  user: (id: string) => `user:${id}`,
  token: (id: string) => `token:${id}`,
  template: (id: string) => `template:${id}`,
  webhook: (id: string) => `webhook:${id}`,
};

/** The one way an audit entry is made, so every entry has the same shape. */
export function auditEntry(
  actor: AuditActor,
  action: AuditAction,
  targetId: string | null,
  details: AuditDetails,
  now: number,
): AuditRecord {
  return {
    timestamp: now,
    actorUserId: actor?.user.id ?? null,
    actorEmail: actor?.user.email ?? null,
    action,
    target: targetId,
    ipAddress: actor?.ipAddress ?? null,
    details,
  };
}

/** An entry as `GET /api/v1/audit-log` shows it. */
export function describeAuditEntry(entry: StoredAuditEntry) {
  return {
    id: String(entry.seq),
    timestamp: isoString(entry.timestamp),
    actorUserId: entry.actorUserId,
    actorEmail: entry.actorEmail,
    action: entry.action,
    target: entry.target,
    ipAddress: entry.ipAddress,
    details: entry.details,
  };
}
