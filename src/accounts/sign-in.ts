import { auditEntry, target, type AuditActor } from '../audit/audit.js';
import { DomainError, invalid } from '../coaching/errors.js';
import type { UserAccount } from '../store/accounts-store.js';
import type { Store } from '../store/store.js';
import { ABSOLUTE_LIFETIME_MS, IDLE_TIMEOUT_MS, mintBrowserSession } from './browser-sessions.js';
import {
  hashPassword,
  needsRehash,
  PASSWORD_COST,
  passwordProblem,
  verifyAgainstNothing,
  verifyPassword,
  type ScryptCost,
} from './passwords.js';
import { hashToken } from './tokens.js';

/** The one answer for a wrong email and a wrong password, so the answer never tells which. */
export const SIGN_IN_REFUSED = 'The email or password is not right.';
export const INVITE_UNUSABLE = 'This invite link is not valid: it is unknown, already used or expired. Ask an admin for a new one.';

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export interface SignedIn {
  orgId: string;
  user: UserAccount;
  /** The cookie's value; only its hash is stored. */
  sessionId: string;
}

/** A stored hash made at an older cost, and its replacement at the current one. */
interface Rehash {
  from: string;
  to: string;
}

/**
 * A new browser session and its `sign_in` entry, in one transaction, with the password's hash
 * rewritten at the current cost when it was older. The person's sessions that ended unseen (a
 * closed laptop) are removed here, so their rows do not pile up.
 */
export async function openSession(
  store: Store,
  orgId: string,
  user: UserAccount,
  ipAddress: string | null,
  now: number,
  via: string,
  rehash: Rehash | null,
): Promise<SignedIn> {
  const method = via === 'oidc' ? 'oidc' : 'password';
  const { id, record } = mintBrowserSession(orgId, user.id, now);
  await store.accounts(orgId, async (tx) => {
    // Only over the hash just checked: a password set meanwhile (an invite link) is left alone.
    if (rehash) await tx.replacePasswordHash(user.id, rehash.from, rehash.to);
    await tx.deleteEndedBrowserSessionsOf(user.id, now - IDLE_TIMEOUT_MS, now - ABSOLUTE_LIFETIME_MS);
    await tx.insertBrowserSession(record, ipAddress);
    await tx.audit(auditEntry({ user, ipAddress }, 'sign_in', target.user(user.id), { via, method }, now));
  });
  return { orgId, user, sessionId: id };
}

export const PASSWORD_SIGN_IN_OFF = 'Your organization signs in with its company account: use "Sign in with your company account".';

/** Whether the organization lets this person use a password (SPEC §10: with passwordSignIn false, admins only). */
async function passwordAllowed(store: Store, orgId: string, user: UserAccount): Promise<boolean> {
  if (user.role === 'admin') return true;
  const oidc = await store.identity(orgId, (tx) => tx.getOidc(), 'readOnly');
  return oidc === null || oidc.passwordSignIn;
}

/**
 * Checks an email and password. Every path does the work of one scrypt check per matching account,
 * or of one against a dummy hash at the current cost when no account matches, so timing does not
 * reveal whether the email exists. An email can belong to users of several organizations; the
 * first whose password matches is signed in, and its hash, when made at an older cost, is rewritten
 * at `cost` with the sign-in. A failure is audited in each organization where the email is known.
 */
export async function signIn(
  store: Store,
  email: string,
  password: string,
  ipAddress: string | null,
  now: number,
  cost: ScryptCost = PASSWORD_COST,
): Promise<SignedIn | null> {
  const candidates = await store.signInCandidates(normalizeEmail(email));
  let match: (typeof candidates)[number] | null = null;
  if (candidates.length === 0) await verifyAgainstNothing(password, cost);
  for (const candidate of candidates) {
    const ok = candidate.passwordHash ? await verifyPassword(password, candidate.passwordHash) : await verifyAgainstNothing(password, cost);
    if (ok && candidate.user.active && !match) match = candidate;
  }
  if (match && !(await passwordAllowed(store, match.orgId, match.user))) {
    const refused = match;
    const details = { reason: 'password_sign_in_off', method: 'password' };
    await store.accounts(refused.orgId, (tx) =>
      tx.audit(auditEntry({ user: refused.user, ipAddress }, 'sign_in_failed', target.user(refused.user.id), details, now)),
    );
    throw new DomainError('forbidden', PASSWORD_SIGN_IN_OFF);
  }
  if (match) {
    const from = match.passwordHash!;
    const rehash = needsRehash(from, cost) ? { from, to: await hashPassword(password, cost) } : null;
    return openSession(store, match.orgId, match.user, ipAddress, now, 'password', rehash);
  }
  const method = 'password';
  for (const candidate of candidates) {
    const reason = !candidate.user.active ? 'inactive' : candidate.passwordHash ? 'wrong_password' : 'no_password';
    await store.accounts(candidate.orgId, (tx) =>
      tx.audit(auditEntry({ user: candidate.user, ipAddress }, 'sign_in_failed', target.user(candidate.user.id), { reason, method }, now)),
    );
  }
  return null;
}

/** Who an invite link is for, while it can still be used. */
export async function readInvite(store: Store, secret: string, now: number): Promise<{ orgId: string; user: UserAccount }> {
  const invite = await store.findInvite(hashToken(secret));
  if (!invite || invite.usedAt !== null || invite.expiresAt <= now || !invite.user.active)
    throw new DomainError('not_found', INVITE_UNUSABLE);
  return { orgId: invite.orgId, user: invite.user };
}

/**
 * Sets the password the link is for, once, and signs the person in. Setting a password (a reset)
 * ends every other browser session of that person. Using the link and setting the password are
 * one transaction, so two tabs racing on one link cannot both succeed.
 */
export async function acceptInvite(
  store: Store,
  secret: string,
  password: string,
  ipAddress: string | null,
  now: number,
  cost: ScryptCost = PASSWORD_COST,
): Promise<SignedIn> {
  const problem = passwordProblem(password);
  if (problem) throw invalid(problem);
  const { orgId, user } = await readInvite(store, secret, now);
  const passwordHash = await hashPassword(password, cost);
  const { id, record } = mintBrowserSession(orgId, user.id, now);
  await store.accounts(orgId, async (tx) => {
    if (!(await tx.useInvite(hashToken(secret), now))) throw new DomainError('not_found', INVITE_UNUSABLE);
    await tx.setPassword(user.id, passwordHash, now);
    await tx.deleteBrowserSessionsOf(user.id);
    await tx.insertBrowserSession(record, ipAddress);
    const actor: AuditActor = { user, ipAddress };
    await tx.audit(auditEntry(actor, 'password_set', target.user(user.id), { via: 'invite' }, now));
    await tx.audit(auditEntry(actor, 'sign_in', target.user(user.id), { via: 'invite', method: 'password' }, now));
  });
  return { orgId, user, sessionId: id };
}

export async function signOut(
  store: Store,
  orgId: string,
  user: UserAccount,
  idHash: string,
  ipAddress: string | null,
  now: number,
): Promise<void> {
  await store.accounts(orgId, async (tx) => {
    await tx.deleteBrowserSession(idHash);
    await tx.audit(auditEntry({ user, ipAddress }, 'sign_out', target.user(user.id), {}, now));
  });
}
