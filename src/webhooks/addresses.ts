import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** Resolves a host name to every address it has (injectable: DNS is what a test cannot arrange). */
export type ResolveHost = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export const resolveWithDns: ResolveHost = (hostname) => lookup(hostname, { all: true, verbatim: true });

/** Loopback, private, link-local, shared, reserved, documentation and multicast ranges: nothing a public webhook lives at. */
const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  // The unspecified and loopback addresses with the rest of the IPv4-compatible block (::7f00:1),
  // and IPv4-translated ones (::ffff:0:7f00:1), which the embedded-IPv4 check below does not read.
  // Not all of the reserved ::/8: a BlockList checks an IPv4 address as IPv4-mapped, inside it.
  ['::', 96],
  ['::ffff:0:0:0', 96],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  // Documentation (RFC 9637) and segment-routing identifiers (RFC 9602), never a receiver.
  ['3fff::', 20],
  ['5f00::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv6');
}

/** The IPv4 address inside an IPv4-mapped or -compatible IPv6 one (::ffff:a.b.c.d), checked as what it reaches. */
function embeddedIpv4(address: string): string | null {
  const match = /^::(?:ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (match?.[1]) return match[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex?.[1] || !hex[2]) return null;
  const high = Number.parseInt(hex[1], 16);
  const low = Number.parseInt(hex[2], 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !NOT_PUBLIC.check(address, 'ipv4');
  if (family !== 6) return false;
  const v4 = embeddedIpv4(address);
  if (v4 !== null) return !NOT_PUBLIC.check(v4, 'ipv4');
  return !NOT_PUBLIC.check(address, 'ipv6');
}

export class AddressRefused extends Error {}

/** A URL's host as an address, without the brackets of an IPv6 literal; '' when it is a name. */
export function literalAddress(url: URL): string {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return isIP(host) ? host : '';
}

/** The webhook URL as saved: absolute, http or https, nothing else. Throws a sentence for the {"error"}. */
export function parseWebhookUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AddressRefused('url must be an absolute http or https URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AddressRefused('url must use http or https.');
  if (url.username || url.password)
    throw new AddressRefused('url must not carry a user name or password; the signature authenticates the sender.');
  return url;
}

/**
 * The addresses a delivery may connect to for this host: all of them public, or the delivery is
 * refused (a name with one private address among public ones is refused: DNS picks which one is used).
 */
export async function allowedAddresses(
  hostname: string,
  resolve: ResolveHost,
  allowPrivate: boolean,
): Promise<Array<{ address: string; family: number }>> {
  const literal = hostname.replace(/^\[|\]$/g, '');
  const family = isIP(literal);
  let found: Array<{ address: string; family: number }>;
  if (family !== 0) found = [{ address: literal, family }];
  else {
    try {
      found = await resolve(hostname);
    } catch {
      throw new AddressRefused(`the host ${hostname} could not be resolved.`);
    }
    if (found.length === 0) throw new AddressRefused(`the host ${hostname} could not be resolved.`);
  }
  if (allowPrivate) return found;
  const refused = found.find((a) => !isPublicAddress(a.address));
  if (refused) {
    throw new AddressRefused(`${hostname} resolves to ${refused.address}, which is not a public address (WEBHOOK_ALLOW_PRIVATE is off).`);
  }
  return found;
}
