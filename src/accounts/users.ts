import type { Actor } from '../coaching/actor.js';
import { DomainError, forbidden, notFound } from '../coaching/errors.js';
import type { UserRecord } from '../coaching/records.js';
import type { CreateTokenBody, CreateUserBody } from '../contract/coaching-schemas.js';
import { newId } from '../ids.js';
import { ConflictError, type Store, type TokenRecord } from '../store/store.js';
import { DEFAULT_TOKEN_DAYS, issueToken, type IssuedToken } from './tokens.js';

export async function createUser(store: Store, actor: Actor, input: CreateUserBody, now: number): Promise<UserRecord> {
  const user: UserRecord = { id: newId(now), email: input.email.toLowerCase(), name: input.name, role: input.role };
  try {
    await store.createUser(actor.orgId, user, now);
  } catch (error) {
    if (error instanceof ConflictError) throw new DomainError('conflict', error.message);
    throw error;
  }
  return user;
}

/** An admin may make a token for anyone in the organization; anyone else only for themself. */
export async function createTokenFor(store: Store, actor: Actor, input: CreateTokenBody, now: number): Promise<IssuedToken> {
  const userId = input.userId ?? actor.user.id;
  if (userId !== actor.user.id && actor.user.role !== 'admin') {
    throw forbidden('Only admins can create tokens for other users.');
  }
  if (!(await store.getUser(actor.orgId, userId))) throw notFound('user', userId);
  const days = input.expiresInDays === undefined ? DEFAULT_TOKEN_DAYS : input.expiresInDays;
  return issueToken(store, { orgId: actor.orgId, userId }, days, now);
}

export function visibleTokens(store: Store, actor: Actor): Promise<TokenRecord[]> {
  return store.listTokens(actor.orgId, actor.user.role === 'admin' ? undefined : actor.user.id);
}

export async function revokeToken(store: Store, actor: Actor, tokenId: string, now: number): Promise<TokenRecord> {
  const token = await store.getToken(actor.orgId, tokenId);
  if (!token || (actor.user.role !== 'admin' && token.userId !== actor.user.id)) throw notFound('token', tokenId);
  await store.deactivateToken(actor.orgId, tokenId, now);
  return (await store.getToken(actor.orgId, tokenId))!;
}
