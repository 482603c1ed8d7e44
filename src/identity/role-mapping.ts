import { auditEntry, type AuditActor } from '../audit/audit.js';
import { invalid } from '../coaching/errors.js';
import type { RoleMapping } from '../store/identity-store.js';
import { ROLES, type Role } from '../accounts/roles.js';
import type { Store } from '../store/store.js';

const MAX_GROUPS = 200;

/** The role a person's groups give, or null when none of their groups is mapped (they keep the role they have). */
export function roleFromGroups(mapping: RoleMapping, groups: readonly string[]): Role | null {
  const mine = new Set(groups);
  // ROLES is highest first: a person in several mapped groups gets the first they qualify for.
  return ROLES.find((role) => mapping[role].some((group) => mine.has(group))) ?? null;
}

/** A mapping as given: each role's groups, trimmed and without repeats; no group empty. */
export function normalizeMapping(input: Partial<Record<Role, string[]>>): RoleMapping {
  const mapping: RoleMapping = { admin: [], coach: [], agent: [] };
  for (const role of ROLES) {
    const groups = [...new Set((input[role] ?? []).map((g) => g.trim()))];
    if (groups.some((g) => g === '')) throw invalid(`A group name in "${role}" is empty.`);
    if (groups.length > MAX_GROUPS) throw invalid(`At most ${MAX_GROUPS} groups per role.`);
    mapping[role] = groups;
  }
  return mapping;
}

export async function saveRoleMapping(
  store: Store,
  actor: AuditActor,
  orgId: string,
  input: Partial<Record<Role, string[]>>,
  now: number,
): Promise<RoleMapping> {
  const mapping = normalizeMapping(input);
  await store.identity(orgId, async (tx) => {
    await tx.saveRoleMapping(mapping);
    const details = { part: 'role_mapping', admin: mapping.admin, coach: mapping.coach, agent: mapping.agent };
    await tx.accounts.audit(auditEntry(actor, 'identity_configured', null, details, now));
  });
  return mapping;
}

export function readRoleMapping(store: Store, orgId: string): Promise<RoleMapping> {
  return store.identity(orgId, (tx) => tx.getRoleMapping(), 'readOnly');
}
