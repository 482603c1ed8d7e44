import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 1024;

export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

/**
 * scrypt with N = 2^17, r = 8, p = 1: 128 MiB and a few hundred milliseconds per hash, so a
 * stolen table costs an attacker as much per guess. The parameters are stored with each hash, so
 * older hashes (N = 2^15 before) still verify, and are rewritten at this cost at the next sign-in.
 */
export const PASSWORD_COST: ScryptCost = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });
const KEY_BYTES = 32;
const SALT_BYTES = 16;

function derive(password: string, salt: Buffer, params: ScryptCost): Promise<Buffer> {
  // scrypt needs 128 * N * r bytes; Node refuses above maxmem (32 MiB by default), so allow that and a margin.
  const options: ScryptOptions = { ...params, maxmem: 128 * params.N * params.r * params.p + 16 * 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Why a password cannot be used, or null when it can. */
export function passwordProblem(password: string): string | null {
  if ([...password].length < MIN_PASSWORD_LENGTH) return `The password must be at least ${MIN_PASSWORD_LENGTH} characters long.`;
  if (password.length > MAX_PASSWORD_LENGTH) return `The password must be at most ${MAX_PASSWORD_LENGTH} characters long.`;
  return null;
}

/** `scrypt$N$r$p$salt$key`, salt and key in base64url: a fresh random salt per password. */
export async function hashPassword(password: string, cost: ScryptCost = PASSWORD_COST): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, cost);
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** The cost a stored hash was made with, or null when it is not a hash this module reads. */
function costOf(stored: string): ScryptCost | null {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  const cost = { N: Number(n), r: Number(r), p: Number(p) };
  if (scheme !== 'scrypt' || !salt || !key || !Object.values(cost).every((v) => Number.isSafeInteger(v) && v > 0)) return null;
  return cost;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const cost = costOf(stored);
  if (!cost) return false;
  const [, , , , salt, key] = stored.split('$');
  const expected = Buffer.from(key!, 'base64url');
  const actual = await derive(password, Buffer.from(salt!, 'base64url'), cost);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Whether a stored hash was made at another cost than `cost`, and so is to be rewritten once its password is known. */
export function needsRehash(stored: string, cost: ScryptCost = PASSWORD_COST): boolean {
  const own = costOf(stored);
  return !own || own.N !== cost.N || own.r !== cost.r || own.p !== cost.p;
}

/** One dummy hash per cost, made once: a check against it costs what a check of a current hash costs. */
const dummies = new Map<string, Promise<string>>();

/**
 * Spends the time of one real check when there is no hash to check against (an unknown email, a
 * user without a password), so the answer's timing does not tell whether the email exists. The
 * dummy is at the current cost, as every hash is after its owner's next sign-in.
 */
export async function verifyAgainstNothing(password: string, cost: ScryptCost = PASSWORD_COST): Promise<false> {
  const name = `${cost.N}:${cost.r}:${cost.p}`;
  let dummy = dummies.get(name);
  if (!dummy) {
    dummy = hashPassword(randomBytes(16).toString('hex'), cost);
    dummies.set(name, dummy);
  }
  await verifyPassword(password, await dummy);
  return false;
}
