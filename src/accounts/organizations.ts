import { auditEntry, target } from '../audit/audit.js';
import { newId } from '../ids.js';
import type { Store } from '../store/store.js';
import { inviteUrl, mintInvite } from './invites.js';
import { normalizeEmail } from './sign-in.js';
import { DEFAULT_TOKEN_DAYS, mintToken } from './tokens.js';

export interface NewOrganization {
  orgId: string;
  userId: string;
  token: string;
  inviteUrl: string;
}

/**
 * An organization, its first admin, that admin's first token (whose secret is returned once) and
 * the invite link with which the admin sets a password for the console, all in one transaction.
 */
export async function createOrganization(
  store: Store,
  input: { name: string; adminEmail: string; adminName?: string; publicUrl?: string },
  now: number,
): Promise<NewOrganization> {
  const orgId = newId(now);
  const userId = newId(now);
  const email = normalizeEmail(input.adminEmail);
  const adminName = input.adminName ?? email.split('@')[0] ?? email;
  const { secret, record } = mintToken({ orgId, userId }, DEFAULT_TOKEN_DAYS, now);
  const { secret: inviteSecret, invite } = mintInvite(userId, now);
  const admin = { id: userId, email, name: adminName, role: 'admin' as const };
  const audit = [
    auditEntry(null, 'user_created', target.user(userId), { role: 'admin', via: 'org create' }, now),
    auditEntry(null, 'token_created', target.token(record.id), { userId, via: 'org create' }, now),
    auditEntry(null, 'invite_created', target.user(userId), { expiresAt: new Date(invite.expiresAt).toISOString() }, now),
  ];
  await store.createOrganization({ id: orgId, name: input.name, admin, token: record, invite, audit }, now);
  return { orgId, userId, token: secret, inviteUrl: inviteUrl(input.publicUrl ?? 'http://127.0.0.1:3000', inviteSecret) };
}
