import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { AddressRefused, allowedAddresses, isPublicAddress, literalAddress, type ResolveHost } from './addresses.js';

export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  allowPrivate: boolean;
  resolve: ResolveHost;
}

/** What the receiver answered, or why nothing was answered. */
export interface WebhookResponse {
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  retryAfter: string | undefined;
  /** The address was refused before any connection was made. */
  refused: boolean;
  /** Nothing was answered within the timeout: the receiver is hanging, or very slow. */
  timedOut: boolean;
}

/** The attempt cut at its timeout. */
class NoAnswer extends Error {}

const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

/**
 * The connection's address lookup, refusing non-public addresses at the moment of connecting: a
 * name that resolved to a public address at save and now resolves to 127.0.0.1 is refused here.
 */
function guardedLookup(resolve: ResolveHost, allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    allowedAddresses(hostname, resolve, allowPrivate).then(
      (addresses) => {
        const usable = options.family ? addresses.filter((a) => a.family === options.family) : addresses;
        if (options.all) callback(null, usable);
        else if (usable[0]) callback(null, usable[0].address, usable[0].family);
        else callback(new AddressRefused(`${hostname} has no address of the family asked for.`), '', 0);
      },
      (error: Error) => (options.all ? callback(error, []) : callback(error, '', 0)),
    );
  };
}

/**
 * One POST, no redirects followed (a 3xx is a failure, as Standard Webhooks asks), cut at the
 * timeout; the receiver's body is read and dropped.
 */
export async function postWebhook(request: WebhookRequest): Promise<WebhookResponse> {
  const started = performance.now();
  const done = (part: Partial<WebhookResponse>): WebhookResponse => ({
    statusCode: null,
    error: null,
    retryAfter: undefined,
    refused: false,
    timedOut: false,
    ...part,
    durationMs: performance.now() - started,
  });
  const url = new URL(request.url);
  // An address written in the URL never goes through the lookup; it is checked here.
  const literal = literalAddress(url);
  if (literal && !request.allowPrivate && !isPublicAddress(literal)) {
    return done({ error: `${literal} is not a public address (WEBHOOK_ALLOW_PRIVATE is off).`, refused: true });
  }
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<WebhookResponse>((resolve) => {
    const req = client.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'Coachport-Webhooks/1', ...request.headers },
        agent: url.protocol === 'https:' ? agents.https : agents.http,
        lookup: guardedLookup(request.resolve, request.allowPrivate),
        timeout: request.timeoutMs,
      },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        const error =
          status >= 300 && status < 400
            ? `redirect (${status}) not followed`
            : status >= 200 && status < 300
              ? null
              : `the receiver answered ${status}`;
        clearTimeout(deadline);
        resolve(done({ statusCode: status, error, retryAfter: res.headers['retry-after'] }));
      },
    );
    const noAnswer = () => req.destroy(new NoAnswer(`no answer within ${request.timeoutMs} ms`));
    const deadline = setTimeout(noAnswer, request.timeoutMs);
    req.on('timeout', noAnswer);
    req.on('error', (error) => {
      clearTimeout(deadline);
      resolve(done({ error: error.message, refused: error instanceof AddressRefused, timedOut: error instanceof NoAnswer }));
    });
    req.end(request.body);
  });
}
