import { auditEntry, target, type AuditActor } from '../audit/audit.js';
import type { Actor } from '../coaching/actor.js';
import { DomainError, forbidden, notFound } from '../coaching/errors.js';
import type { CreateTokenBody, CreateUserBody } from '../contract/coaching-schemas.js';
import type { UpdateUserBody } from '../contract/account-schemas.js';
import { newId } from '../ids.js';
import type { AccountsTx, TokenRecord, UserAccount, UserChanges } from '../store/accounts-store.js';
import type { Store } from '../store/store.js';
import { issueInvite } from './invites.js';
import { normalizeEmail } from './sign-in.js';
import { DEFAULT_TOKEN_DAYS, mintToken, type IssuedToken } from './tokens.js';

/** A new user and their invite link, with both audit entries, in one transaction. */
export async function createUser(
  store: Store,
  actor: Actor,
  input: CreateUserBody,
  publicUrl: string,
  now: number,
): Promise<UserAccount & { inviteUrl: string }> {
  const user: UserAccount = { id: newId(now), email: normalizeEmail(input.email), name: input.name, role: input.role, active: true };
  const inviteUrl = await store.accounts(actor.orgId, async (tx) => {
    const { active: _active, ...record } = user;
    await tx.insertUser(record, now);
    await tx.audit(auditEntry(actor, 'user_created', target.user(user.id), { role: user.role }, now));
    return issueInvite(tx, actor, user, publicUrl, now);
  });
  return { ...user, inviteUrl };
}

/** A new invite link for an existing, active user: the first one, or a password reset. */
export async function inviteUser(
  store: Store,
  actor: Actor | null,
  orgId: string,
  userId: string,
  publicUrl: string,
  now: number,
): Promise<string> {
  return store.accounts(orgId, async (tx) => {
    const user = await tx.getUser(userId);
    if (!user) throw notFound('user', userId);
    if (!user.active)
      throw new DomainError('conflict', 'This user is deactivated; reactivate them (PATCH active: true) before sending a link.');
    // Imported people have no email until an admin gives them one, and sign-in is by email.
    if (!user.email)
      throw new DomainError('conflict', 'This user has no email to sign in with; set one (PATCH email) before sending a link.');
    return issueInvite(tx, actor, user, publicUrl, now);
  });
}

/**
 * Changes a user's name, email, role or active flag. The organization always keeps an active
 * admin: the change that would remove the last one is refused (409), and such changes queue, so
 * two admins demoting each other at once cannot both succeed. Deactivating ends the user's browser
 * sessions at once; their tokens fail from the next request (authentication checks `active`).
 * Deactivating or changing the email voids the user's unused invite links in the same transaction.
 */
export async function updateUser(store: Store, actor: Actor, userId: string, input: UpdateUserBody, now: number): Promise<UserAccount> {
  return store.accounts(actor.orgId, (tx) => applyUserUpdate(tx, actor, userId, input, now));
}

/**
 * updateUser's change inside a transaction the caller holds, so provisioning (SCIM) and single
 * sign-on change and deactivate people through this one function; `via` marks their audit entries.
 */
export async function applyUserUpdate(
  tx: AccountsTx,
  actor: AuditActor,
  userId: string,
  input: UpdateUserBody,
  now: number,
  via?: 'scim' | 'oidc',
): Promise<UserAccount> {
  // Taken first, before any row lock, so admin-removing changes and renames queue instead of
  // deadlocking. A name sent unchanged (clients and providers resend it) is no rename: no turn taken.
  const renaming = input.name !== undefined && input.name !== (await tx.getUser(userId))?.name;
  if (renaming) await tx.lockNameChanges();
  if (input.role !== undefined || input.active === false) await tx.lockAdminChanges();
  const user = await tx.getUserForUpdate(userId);
  if (!user) throw notFound('user', userId);
  const changes: UserChanges = {};
  if (input.name !== undefined && input.name !== user.name) changes.name = input.name;
  // Renamed by another between the two reads: the turn is taken after the row lock, where a deadlock
  // with a write is possible (PostgreSQL ends one of them, a 503) but this is rare.
  if (changes.name !== undefined && !renaming) await tx.lockNameChanges();
  if (input.email !== undefined && normalizeEmail(input.email) !== user.email) changes.email = normalizeEmail(input.email);
  if (input.role !== undefined && input.role !== user.role) changes.role = input.role;
  if (input.active !== undefined && input.active !== user.active) changes.active = input.active;
  const changed = Object.keys(changes);
  if (changed.length === 0) return user;

  const losesAdmin = user.role === 'admin' && user.active && (changes.role !== undefined || changes.active === false);
  if (losesAdmin && (await tx.countOtherActiveAdmins(user.id)) === 0) {
    throw new DomainError('conflict', 'This is the last active admin of the organization; make another user an admin first.');
  }
  // Renaming re-renders the documents that show the name, inside updateUser's transaction.
  await tx.updateUser(user.id, changes, now);
  // A link sent to the old address, or before deactivating, must not set a password later
  // (after a reactivation, say): it dies with this change. A new one can be sent as usual.
  if (changes.active === false || changes.email !== undefined) await tx.voidInvites(user.id, now);
  if (changes.active === false) {
    await tx.deleteBrowserSessionsOf(user.id);
    await tx.audit(auditEntry(actor, 'user_deactivated', target.user(user.id), via ? { via } : {}, now));
  }
  const updatedFields = changed.filter((field) => !(field === 'active' && changes.active === false));
  if (updatedFields.length > 0) {
    const details: Record<string, string[] | string> = { changed: updatedFields };
    if (changes.role !== undefined) details.role = changes.role;
    if (via) details.via = via;
    await tx.audit(auditEntry(actor, 'user_updated', target.user(user.id), details, now));
  }
  return { ...user, ...changes };
}

/** An admin may make a token for anyone in the organization; anyone else only for themself. */
export async function createTokenFor(store: Store, actor: Actor, input: CreateTokenBody, now: number): Promise<IssuedToken> {
  const userId = input.userId ?? actor.user.id;
  if (userId !== actor.user.id && actor.user.role !== 'admin') {
    throw forbidden('Only admins can create tokens for other users.');
  }
  const days = input.expiresInDays === undefined ? DEFAULT_TOKEN_DAYS : input.expiresInDays;
  return issueAuditedToken(store, actor, actor.orgId, userId, days, now);
}

/** A new token for a user of the organization and its `token_created` entry (the actor is null at the command line). */
export async function issueAuditedToken(
  store: Store,
  actor: AuditActor,
  orgId: string,
  userId: string,
  days: number | null,
  now: number,
): Promise<IssuedToken> {
  return store.accounts(orgId, async (tx) => {
    if (!(await tx.getUser(userId))) throw notFound('user', userId);
    const { secret, record } = mintToken({ orgId, userId }, days, now);
    await tx.insertToken(record);
    await tx.audit(
      auditEntry(
        actor,
        'token_created',
        target.token(record.id),
        { userId, expiresAt: record.expiresAt === null ? null : new Date(record.expiresAt).toISOString() },
        now,
      ),
    );
    const { hash: _hash, ...shown } = record;
    return { secret, token: { ...shown, lastUsedAt: null, deactivatedAt: null } };
  });
}

/** Deactivates a token and writes `token_revoked`, once; false when it was already inactive. */
export async function revokeAuditedToken(
  store: Store,
  actor: AuditActor,
  orgId: string,
  token: TokenRecord,
  now: number,
): Promise<boolean> {
  return store.accounts(orgId, async (tx) => {
    if (!(await tx.deactivateToken(token.id, now))) return false;
    await tx.audit(auditEntry(actor, 'token_revoked', target.token(token.id), { userId: token.userId }, now));
    return true;
  });
}

export function visibleTokens(store: Store, actor: Actor): Promise<TokenRecord[]> {
  return store.listTokens(actor.orgId, actor.user.role === 'admin' ? undefined : actor.user.id);
}

export async function revokeToken(store: Store, actor: Actor, tokenId: string, now: number): Promise<TokenRecord> {
  const token = await store.getToken(actor.orgId, tokenId);
  if (!token || (actor.user.role !== 'admin' && token.userId !== actor.user.id)) throw notFound('token', tokenId);
  await revokeAuditedToken(store, actor, actor.orgId, token, now);
  return (await store.getToken(actor.orgId, tokenId))!;
}

export async function createTemplate(store: Store, actor: Actor, name: string, now: number): Promise<{ id: string; name: string }> {
  const template = { id: newId(now), name };
  await store.accounts(actor.orgId, async (tx) => {
    await tx.insertTemplate(template, now);
    await tx.audit(auditEntry(actor, 'template_created', target.template(template.id), {}, now));
  });
  return template;
}
