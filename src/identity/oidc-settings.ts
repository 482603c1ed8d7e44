import * as oidc from 'openid-client';
import { auditEntry, type AuditActor } from '../audit/audit.js';
import { DomainError, invalid } from '../coaching/errors.js';
import type { OidcBody } from '../contract/identity-schemas.js';
import type { Clock } from '../clock.js';
import type { OidcSettings } from '../store/identity-store.js';
import type { Store } from '../store/store.js';
import { errorMessage } from './oidc-errors.js';

export const CALLBACK_PATH = '/api/v1/auth/oidc/callback';
export const DEFAULT_GROUPS_CLAIM = 'groups';

export function redirectUri(publicUrl: string): string {
  return publicUrl + CALLBACK_PATH;
}

export function signInUrl(publicUrl: string, orgId: string): string {
  return `${publicUrl}/sign-in?organization=${encodeURIComponent(orgId)}`;
}

/** An issuer URL that may be saved: https, or http only where OIDC_ALLOW_HTTP allows it. */
function issuerUrl(raw: string, allowHttp: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw invalid(`The issuer "${raw}" is not a URL.`);
  }
  if (url.protocol === 'http:' && !allowHttp)
    throw invalid('The issuer must be https:// (http:// is allowed only with OIDC_ALLOW_HTTP=true).');
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid('The issuer must be an https:// URL.');
  return url;
}

/**
 * The openid-client configuration of a saved provider, checking tokens at the server's clock (so
 * the tests' clock is the one ID token expiry is judged by).
 */
export function clientConfiguration(settings: OidcSettings, clock: Clock, allowHttp: boolean): oidc.Configuration {
  const metadata = JSON.parse(settings.serverMetadata) as oidc.ServerMetadata;
  const skewSeconds = Math.round((clock.now() - Date.now()) / 1000);
  const config = new oidc.Configuration(metadata, settings.clientId, {
    client_secret: settings.clientSecret,
    [oidc.clockSkew]: skewSeconds,
  });
  if (allowHttp && metadata.issuer.startsWith('http:')) oidc.allowInsecureRequests(config);
  return config;
}

/** Saves the organization's provider after discovering it, so a wrong issuer is refused at once, not at the first sign-in. */
export async function saveOidc(
  store: Store,
  actor: AuditActor,
  orgId: string,
  input: OidcBody,
  deps: { clock: Clock; allowHttp: boolean },
): Promise<OidcSettings> {
  const issuer = issuerUrl(input.issuer, deps.allowHttp);
  const previous = await store.identity(orgId, (tx) => tx.getOidc(), 'readOnly');
  const clientSecret = input.clientSecret ?? previous?.clientSecret;
  if (clientSecret === undefined) throw invalid('clientSecret is required the first time the provider is saved.');
  let discovered: oidc.Configuration;
  try {
    const options = deps.allowHttp && issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : undefined;
    discovered = await oidc.discovery(issuer, input.clientId, clientSecret, undefined, { ...options, timeout: 10 });
  } catch (error) {
    throw invalid(
      `The issuer's discovery document (${issuer.href.replace(/\/$/, '')}/.well-known/openid-configuration) failed: ${errorMessage(error)}`,
    );
  }
  const metadata = discovered.serverMetadata();
  if (!metadata.authorization_endpoint || !metadata.token_endpoint || !metadata.jwks_uri) {
    throw invalid("The issuer's discovery document has no authorization_endpoint, token_endpoint or jwks_uri.");
  }
  const settings: OidcSettings = {
    issuer: metadata.issuer,
    clientId: input.clientId,
    clientSecret,
    groupsClaim: input.groupsClaim ?? previous?.groupsClaim ?? DEFAULT_GROUPS_CLAIM,
    defaultRole: input.defaultRole === undefined ? (previous?.defaultRole ?? null) : input.defaultRole,
    passwordSignIn: input.passwordSignIn ?? previous?.passwordSignIn ?? true,
    serverMetadata: JSON.stringify(metadata),
    updatedAt: deps.clock.now(),
  };
  await store.identity(orgId, async (tx) => {
    await tx.saveOidc(settings);
    const details = {
      part: 'oidc',
      issuer: settings.issuer,
      clientId: settings.clientId,
      secretChanged: input.clientSecret !== undefined,
      groupsClaim: settings.groupsClaim,
      defaultRole: settings.defaultRole,
      passwordSignIn: settings.passwordSignIn,
    };
    await tx.accounts.audit(auditEntry(actor, 'identity_configured', null, details, deps.clock.now()));
  });
  return settings;
}

export async function deleteOidc(store: Store, actor: AuditActor, orgId: string, now: number): Promise<void> {
  await store.identity(orgId, async (tx) => {
    if (!(await tx.deleteOidc())) throw new DomainError('not_found', 'Single sign-on is not configured for this organization.');
    await tx.accounts.audit(auditEntry(actor, 'identity_configured', null, { part: 'oidc', enabled: false }, now));
  });
}

/** The settings as GET shows them: never the secret. */
export function describeOidc(settings: OidcSettings | null, publicUrl: string, orgId: string) {
  return {
    enabled: settings !== null,
    issuer: settings?.issuer ?? null,
    clientId: settings?.clientId ?? null,
    clientSecretSet: settings !== null,
    groupsClaim: settings?.groupsClaim ?? DEFAULT_GROUPS_CLAIM,
    defaultRole: settings?.defaultRole ?? null,
    passwordSignIn: settings?.passwordSignIn ?? true,
    signInUrl: signInUrl(publicUrl, orgId),
    redirectUri: redirectUri(publicUrl),
  };
}
