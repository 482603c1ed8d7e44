import { newId } from '../ids.js';
import type { Store } from '../store/store.js';
import { DEFAULT_TOKEN_DAYS, mintToken } from './tokens.js';

export interface NewOrganization {
  orgId: string;
  userId: string;
  token: string;
}

/** An organization, its first admin and that admin's first token, whose secret is returned once. */
export async function createOrganization(
  store: Store,
  input: { name: string; adminEmail: string; adminName?: string },
  now: number,
): Promise<NewOrganization> {
  const orgId = newId(now);
  const userId = newId(now);
  const adminName = input.adminName ?? input.adminEmail.split('@')[0] ?? input.adminEmail;
  const { secret, record } = mintToken({ orgId, userId }, DEFAULT_TOKEN_DAYS, now);
  const admin = { id: userId, email: input.adminEmail, name: adminName, role: 'admin' as const };
  await store.createOrganization({ id: orgId, name: input.name, admin, token: record }, now);
  return { orgId, userId, token: secret };
}
