import * as oidc from 'openid-client';
import { auditEntry, target } from '../audit/audit.js';
import { mintBrowserSession, ABSOLUTE_LIFETIME_MS, IDLE_TIMEOUT_MS } from '../accounts/browser-sessions.js';
import { normalizeEmail, type SignedIn } from '../accounts/sign-in.js';
import { hashToken } from '../accounts/tokens.js';
import { applyUserUpdate } from '../accounts/users.js';
import { DomainError } from '../coaching/errors.js';
import type { Clock } from '../clock.js';
import { newId } from '../ids.js';
import type { UserAccount } from '../store/accounts-store.js';
import type { IdentityTx, OidcSettings } from '../store/identity-store.js';
import type { Role } from '../accounts/roles.js';
import { ConflictError, type Store } from '../store/store.js';
import { errorMessage } from './oidc-errors.js';
import { clientConfiguration, redirectUri } from './oidc-settings.js';
import { roleFromGroups } from './role-mapping.js';

/** A sign-in begun at the provider must come back within this time. */
export const LOGIN_STATE_TTL_MS = 10 * 60_000;

/** Why a sign-in with the provider ended on the sign-in page: a sentence for the person and a word for the audit log. */
export class OidcSignInFailure extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly orgId: string | null = null,
  ) {
    super(message);
  }
}

export interface OidcDeps {
  store: Store;
  clock: Clock;
  publicUrl: string;
  allowHttp: boolean;
}

/** The scopes asked for: `groups` too when the provider advertises it. */
function scopesFor(settings: OidcSettings): string {
  const supported = (JSON.parse(settings.serverMetadata) as oidc.ServerMetadata).scopes_supported ?? [];
  return ['openid', 'email', 'profile', ...(supported.includes('groups') ? ['groups'] : [])].join(' ');
}

/**
 * Where to send the browser to sign in with the organization's provider, and the `state` the
 * callback must see again. The state, the nonce and the PKCE verifier are kept server-side under
 * the state's hash, for LOGIN_STATE_TTL_MS and for one use.
 */
export async function startOidcSignIn(deps: OidcDeps, orgId: string): Promise<{ location: string; state: string }> {
  const settings = await deps.store.identity(orgId, (tx) => tx.getOidc(), 'readOnly');
  if (!settings) throw new OidcSignInFailure('not_configured', 'This organization has not set up sign-in with a company account.');
  const config = clientConfiguration(settings, deps.clock, deps.allowHttp);
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  await deps.store.insertLoginState(hashToken(state), { orgId, nonce, codeVerifier, expiresAt: deps.clock.now() + LOGIN_STATE_TTL_MS });
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri(deps.publicUrl),
    scope: scopesFor(settings),
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { location: url.href, state };
}

function stringClaim(claims: oidc.IDToken, name: string): string | null {
  const value = claims[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

function groupsOf(claims: oidc.IDToken, claim: string): string[] {
  const value = claims[claim];
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string');
  return typeof value === 'string' ? [value] : [];
}

/**
 * Checks the provider's answer (state bound to this browser, then openid-client's checks of the
 * code exchange with PKCE, the ID token's signature, issuer, audience, expiry and nonce) and signs
 * the person in. `browserState` is the state this browser was given at /start (its cookie).
 */
export async function finishOidcSignIn(
  deps: OidcDeps,
  query: URLSearchParams,
  browserState: string | undefined,
  ipAddress: string | null,
): Promise<SignedIn> {
  const state = query.get('state');
  if (!state || !browserState || state !== browserState) {
    throw new OidcSignInFailure('bad_state', 'The sign-in could not be checked (its state does not match this browser). Start again.');
  }
  const pending = await deps.store.takeLoginState(hashToken(state));
  if (!pending) throw new OidcSignInFailure('bad_state', 'This sign-in was already used or is unknown. Start again.');
  const { orgId } = pending;
  const fail = (reason: string, message: string) => new OidcSignInFailure(reason, message, orgId);
  if (pending.expiresAt <= deps.clock.now()) throw fail('expired_state', 'The sign-in took too long. Start again.');
  const settings = await deps.store.identity(orgId, (tx) => tx.getOidc(), 'readOnly');
  if (!settings) throw fail('not_configured', 'This organization no longer signs in with a company account.');

  let claims: oidc.IDToken;
  try {
    const config = clientConfiguration(settings, deps.clock, deps.allowHttp);
    const currentUrl = new URL(`${redirectUri(deps.publicUrl)}?${query.toString()}`);
    const tokens = await oidc.authorizationCodeGrant(config, currentUrl, {
      pkceCodeVerifier: pending.codeVerifier,
      expectedState: state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    });
    claims = tokens.claims()!;
  } catch (error) {
    throw fail('provider_check_failed', `The company sign-in was not accepted: ${errorMessage(error)}.`);
  }
  return signInFromClaims(deps, orgId, settings, claims, ipAddress);
}

async function signInFromClaims(deps: OidcDeps, orgId: string, settings: OidcSettings, claims: oidc.IDToken, ipAddress: string | null) {
  const now = deps.clock.now();
  const groups = groupsOf(claims, settings.groupsClaim);
  try {
    return await deps.store.identity(orgId, async (tx) => {
      const mapped = roleFromGroups(await tx.getRoleMapping(), groups);
      const user = await linkedOrNewUser(tx, settings, claims, mapped, ipAddress, now);
      if (!user.active) throw new OidcSignInFailure('inactive', 'This account has been deactivated. Ask an admin.', orgId);
      const actor = { user, ipAddress };
      const current =
        mapped && mapped !== user.role ? await applyUserUpdate(tx.accounts, actor, user.id, { role: mapped }, now, 'oidc') : user;
      const { id, record } = mintBrowserSession(orgId, current.id, now);
      await tx.accounts.deleteEndedBrowserSessionsOf(current.id, now - IDLE_TIMEOUT_MS, now - ABSOLUTE_LIFETIME_MS);
      await tx.accounts.insertBrowserSession(record, ipAddress);
      await tx.accounts.audit(auditEntry({ user: current, ipAddress }, 'sign_in', target.user(current.id), { method: 'oidc' }, now));
      return { orgId, user: current, sessionId: id };
    });
  } catch (error) {
    if (error instanceof OidcSignInFailure) throw error.orgId ? error : new OidcSignInFailure(error.reason, error.message, orgId);
    if (error instanceof DomainError) throw new OidcSignInFailure('refused', error.message, orgId);
    // Two first sign-ins of one person at the same moment: the other one linked them; this one starts again.
    if (error instanceof ConflictError) throw new OidcSignInFailure('bad_state', 'Another sign-in of this person finished first.', orgId);
    throw error;
  }
}

/**
 * The user the provider's `sub` is linked to; at the first sign-in, the active user with the ID
 * token's email when the provider says it verified it, or a new user with the mapped role or the
 * default one. Nothing else is trusted from the provider.
 */
async function linkedOrNewUser(
  tx: IdentityTx,
  settings: OidcSettings,
  claims: oidc.IDToken,
  mapped: Role | null,
  ipAddress: string | null,
  now: number,
): Promise<UserAccount> {
  const linkedId = await tx.linkedUserId(claims.sub);
  if (linkedId) return (await tx.accounts.getUserForUpdate(linkedId))!;
  const rawEmail = stringClaim(claims, 'email');
  if (!rawEmail) throw new OidcSignInFailure('no_email', 'The company account has no email address to sign in with. Ask your IT team.');
  const email = normalizeEmail(rawEmail);
  const existing = await tx.findUserByEmail(email);
  if (existing) {
    if (claims.email_verified !== true) {
      throw new OidcSignInFailure(
        'email_not_verified',
        'An account with this email exists, but the company sign-in does not confirm the email is verified, ' +
          'so it was not linked. Ask an admin.',
      );
    }
    if (!existing.active) throw new OidcSignInFailure('inactive', 'This account has been deactivated. Ask an admin.');
    if (await tx.isLinked(existing.id)) {
      throw new OidcSignInFailure('linked_elsewhere', 'The account with this email is linked to another company identity. Ask an admin.');
    }
    await tx.link(claims.sub, existing.id, now);
    return existing;
  }
  const role = mapped ?? settings.defaultRole;
  if (!role) throw new OidcSignInFailure('unmapped', 'Your company account is in no group that gives access to Coachport. Ask an admin.');
  const name = stringClaim(claims, 'name') ?? stringClaim(claims, 'preferred_username') ?? email;
  const user: UserAccount = { id: newId(now), email, name: name.slice(0, 200), role, active: true };
  await tx.accounts.insertUser({ id: user.id, email: user.email, name: user.name, role: user.role }, now);
  await tx.link(claims.sub, user.id, now);
  await tx.accounts.audit(auditEntry({ user, ipAddress }, 'user_created', target.user(user.id), { role, via: 'oidc' }, now));
  return user;
}

/** A failure's audit entry, in the organization it happened in (when it is known). */
export async function auditFailure(store: Store, failure: OidcSignInFailure, ipAddress: string | null, now: number): Promise<void> {
  if (!failure.orgId) return;
  const entry = auditEntry(null, 'sign_in_failed', null, { method: 'oidc', reason: failure.reason }, now);
  await store.writeAudit(failure.orgId, { ...entry, ipAddress });
}
