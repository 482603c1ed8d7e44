import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration, type InteractionResults } from 'oidc-provider';

/** A person at the test identity provider: the claims their ID token carries. */
export interface ProviderAccount {
  sub: string;
  email: string;
  email_verified: boolean;
  name: string;
  groups: string[];
}

export interface TestProvider {
  issuer: string;
  clients: Array<{ clientId: string; clientSecret: string }>;
  accounts: Map<string, ProviderAccount>;
  /** Who signs in at the provider's login step of the next flow. */
  signInAs(sub: string): void;
  close(): Promise<void>;
}

/**
 * A real OpenID provider (panva's oidc-provider) on a loopback port, with two confidential clients
 * whose redirect URI is the Coachport callback. Its login step signs in whoever `signInAs` names and
 * grants the requested scopes, as a person clicking through would.
 */
export async function startTestProvider(options: { redirectUri: string; idTokenTtlSeconds?: number }): Promise<TestProvider> {
  const accounts = new Map<string, ProviderAccount>();
  let next: string | null = null;
  const clients = [
    { clientId: 'coachport', clientSecret: 'coachport-client-secret-0123456789abcdef' },
    { clientId: 'other-app', clientSecret: 'other-app-client-secret-0123456789abcdef' },
  ];
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const configuration: Configuration = {
    clients: clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: [options.redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    })),
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    conformIdTokenClaims: false,
    cookies: { keys: ['test-provider-cookie-key-0123456789'] },
    features: { devInteractions: { enabled: false } },
    ttl: { IdToken: options.idTokenTtlSeconds ?? 3600, AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 3600 },
    async findAccount(_ctx, sub) {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return { accountId: sub, claims: async () => ({ ...account }) };
    },
  };
  const provider = new Provider(issuer, configuration);
  const handle = provider.callback();
  server.on('request', (req, res) => {
    if (!req.url?.startsWith('/interaction/')) {
      handle(req, res);
      return;
    }
    void (async () => {
      const details = await provider.interactionDetails(req, res);
      let result: InteractionResults;
      if (details.prompt.name === 'login') {
        if (!next) throw new Error('the test named nobody to sign in at the provider');
        result = { login: { accountId: next } };
      } else {
        const accountId = details.session!.accountId;
        const grant = details.grantId
          ? (await provider.Grant.find(details.grantId))!
          : new provider.Grant({ accountId, clientId: details.params.client_id as string });
        grant.addOIDCScope(details.params.scope as string);
        result = { consent: { grantId: await grant.save() } };
      }
      await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    })().catch((error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  });
  return {
    issuer,
    clients,
    accounts,
    signInAs(sub) {
      next = sub;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
