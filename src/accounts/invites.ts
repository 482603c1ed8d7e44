import { randomBytes } from 'node:crypto';
import { auditEntry, target, type AuditActor } from '../audit/audit.js';
import type { AccountsTx, NewInvite, UserAccount } from '../store/accounts-store.js';
import { hashToken } from './tokens.js';
import { DAY_MS } from '../contract/dates.js';

export const INVITE_DAYS = 7;

/** A new link secret (256 random bits) and the record that keeps only its hash. */
export function mintInvite(userId: string, now: number): { secret: string; invite: NewInvite } {
  const secret = randomBytes(32).toString('base64url');
  return { secret, invite: { tokenHash: hashToken(secret), userId, createdAt: now, expiresAt: now + INVITE_DAYS * DAY_MS } };
}

/** The console's page for the link; the secret travels in the path, never in a query string that proxies log. */
export function inviteUrl(publicUrl: string, secret: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/invite/${secret}`;
}

/**
 * A new link for the user, inside the caller's transaction: older unused links stop working, so
 * only the last one sent (a password reset, say) can set the password.
 */
export async function issueInvite(
  tx: AccountsTx,
  actor: AuditActor,
  user: UserAccount | { id: string },
  publicUrl: string,
  now: number,
): Promise<string> {
  const { secret, invite } = mintInvite(user.id, now);
  await tx.voidInvites(user.id, now);
  await tx.insertInvite(invite);
  await tx.audit(auditEntry(actor, 'invite_created', target.user(user.id), { expiresAt: new Date(invite.expiresAt).toISOString() }, now));
  const link = inviteUrl(publicUrl, secret);
  await tx.queueInviteMail(user.id, link, actor?.user.id ?? null, now);
  return link;
}
