import { auditEntry, target, type AuditActor } from '../../audit/audit.js';
import { normalizeEmail } from '../../accounts/sign-in.js';
import { applyUserUpdate } from '../../accounts/users.js';
import type { UpdateUserBody } from '../../contract/account-schemas.js';
import { newId } from '../../ids.js';
import type { IdentityTx, ScimGroupRecord, ScimUser } from '../../store/identity-store.js';
import type { Store } from '../../store/store.js';
import { roleFromGroups } from '../role-mapping.js';
import { badRequest, ScimError } from './errors.js';
import { isObject, memberPathValue, type PatchOperation } from './patch.js';
import { GROUP_SCHEMA } from './resources.js';
import { nameOf, type UserFields } from './user-attributes.js';

/** Who provisions: the admin whose token the provider holds, from the provider's address. */
export interface ScimCaller {
  orgId: string;
  actor: AuditActor;
  now: number;
}

const missingUser = (id: string) => new ScimError(404, `There is no user ${JSON.stringify(id)}.`);
const missingGroup = (id: string) => new ScimError(404, `There is no group ${JSON.stringify(id)}.`);

export async function createScimUser(store: Store, caller: ScimCaller, fields: UserFields): Promise<ScimUser> {
  const email = normalizeEmail(fields.email!);
  return store.identity(caller.orgId, async (tx) => {
    if (await tx.findUserByEmail(email)) throw new ScimError(409, 'A user with this userName already exists.', 'uniqueness');
    // A person's role comes from their mapped groups; until a group says otherwise, the provider's default.
    const role = (await tx.getOidc())?.defaultRole ?? 'agent';
    const id = newId(caller.now);
    const name = nameOf(fields) ?? email;
    await tx.accounts.insertUser({ id, email, name, role }, caller.now);
    if (fields.externalId) await tx.setExternalId(id, fields.externalId);
    await tx.accounts.audit(auditEntry(caller.actor, 'user_created', target.user(id), { role, via: 'scim' }, caller.now));
    if (fields.active === false) await applyUserUpdate(tx.accounts, caller.actor, id, { active: false }, caller.now, 'scim');
    return (await tx.getScimUser(id))!;
  });
}

/**
 * A change to a user (PUT, PATCH, DELETE) through the same function as PATCH /api/v1/users/:id,
 * so a deactivation ends the person's browser sessions and tokens exactly as the admin's does.
 */
export async function updateScimUser(store: Store, caller: ScimCaller, userId: string, fields: UserFields): Promise<ScimUser> {
  return store.identity(caller.orgId, async (tx) => {
    const current = await tx.getScimUser(userId);
    if (!current) throw missingUser(userId);
    const change: UpdateUserBody = {};
    const name = nameOf(fields);
    if (name !== undefined) change.name = name;
    if (fields.email !== undefined) change.email = normalizeEmail(fields.email);
    if (fields.active !== undefined) change.active = fields.active;
    if (change.email !== undefined && change.email !== current.email && (await tx.findUserByEmail(change.email))) {
      throw new ScimError(409, 'Another user has this userName.', 'uniqueness');
    }
    if (Object.keys(change).length > 0) await applyUserUpdate(tx.accounts, caller.actor, userId, change, caller.now, 'scim');
    if (fields.externalId !== undefined && fields.externalId !== current.externalId) await tx.setExternalId(userId, fields.externalId);
    return (await tx.getScimUser(userId))!;
  });
}

export async function readScimUser(store: Store, orgId: string, userId: string): Promise<ScimUser> {
  const user = await store.identity(orgId, (tx) => tx.getScimUser(userId), 'readOnly');
  if (!user) throw missingUser(userId);
  return user;
}

export interface GroupFields {
  displayName?: string;
  externalId?: string | null;
  members?: string[];
}

function memberIds(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  return list.map((member) => {
    if (!isObject(member) || typeof member.value !== 'string' || member.value === '') {
      throw badRequest('invalidValue', 'Each member is an object with the user\'s id as "value".');
    }
    return member.value;
  });
}

function groupAttribute(fields: GroupFields, attribute: string, value: unknown): void {
  switch (attribute.toLowerCase()) {
    case 'displayname':
      if (typeof value !== 'string' || value.trim() === '' || value.length > 256)
        throw badRequest('invalidValue', 'displayName must be a non-empty string.');
      fields.displayName = value.trim();
      return;
    case 'externalid':
      fields.externalId = typeof value === 'string' && value !== '' ? value : null;
      return;
    case 'members':
      fields.members = value === null || value === undefined ? [] : memberIds(value);
      return;
    case 'schemas':
    case 'id':
    case 'meta':
      return;
    default:
      throw badRequest('invalidPath', `The attribute "${attribute.slice(0, 200)}" is not supported on a group.`);
  }
}

export function groupFromResource(body: unknown): GroupFields {
  if (!isObject(body) || !Array.isArray(body.schemas) || !body.schemas.includes(GROUP_SCHEMA)) {
    throw badRequest('invalidSyntax', `The body must be a SCIM Group resource (schemas: ["${GROUP_SCHEMA}"]).`);
  }
  const fields: GroupFields = {};
  for (const [key, value] of Object.entries(body)) groupAttribute(fields, key, value);
  if (fields.displayName === undefined) throw badRequest('invalidValue', 'displayName is required.');
  return fields;
}

/** Sets each member's role from their groups now, when one of their groups is mapped; otherwise they keep theirs. */
async function applyMappedRoles(tx: IdentityTx, caller: ScimCaller, userIds: Iterable<string>): Promise<void> {
  const mapping = await tx.getRoleMapping();
  for (const userId of new Set(userIds)) {
    const user = await tx.accounts.getUser(userId);
    const role = roleFromGroups(mapping, await tx.groupNamesOf(userId));
    if (user && role && role !== user.role) await applyUserUpdate(tx.accounts, caller.actor, userId, { role }, caller.now, 'scim');
  }
}

async function assertUsers(tx: IdentityTx, userIds: string[]): Promise<void> {
  for (const id of new Set(userIds))
    if (!(await tx.accounts.getUser(id))) throw badRequest('invalidValue', `There is no user ${JSON.stringify(id)}.`);
}

export async function createScimGroup(store: Store, caller: ScimCaller, fields: GroupFields): Promise<ScimGroupRecord> {
  return store.identity(caller.orgId, async (tx) => {
    if ((await tx.listGroups(fields.displayName!)).length > 0)
      throw new ScimError(409, 'A group with this displayName already exists.', 'uniqueness');
    const group: ScimGroupRecord = {
      id: newId(caller.now),
      displayName: fields.displayName!,
      externalId: fields.externalId ?? null,
      createdAt: caller.now,
      updatedAt: caller.now,
    };
    await tx.insertGroup(group);
    const members = fields.members ?? [];
    await assertUsers(tx, members);
    await tx.addMembers(group.id, members);
    await applyMappedRoles(tx, caller, members);
    return group;
  });
}

async function groupOrThrow(tx: IdentityTx, groupId: string): Promise<ScimGroupRecord> {
  const group = await tx.getGroup(groupId);
  if (!group) throw missingGroup(groupId);
  return group;
}

/** PUT: the whole group, members included. */
export async function replaceScimGroup(store: Store, caller: ScimCaller, groupId: string, fields: GroupFields): Promise<ScimGroupRecord> {
  return store.identity(caller.orgId, async (tx) => {
    const group = await groupOrThrow(tx, groupId);
    const before = (await tx.membersOf(groupId)).map((m) => m.id);
    await tx.updateGroup(groupId, fields.displayName!, fields.externalId ?? null, caller.now);
    const members = fields.members ?? [];
    await assertUsers(tx, members);
    await tx.removeMembers(groupId, 'all');
    await tx.addMembers(groupId, members);
    await applyMappedRoles(tx, caller, [...before, ...members]);
    return { ...group, displayName: fields.displayName!, externalId: fields.externalId ?? null, updatedAt: caller.now };
  });
}

/** PATCH: Okta's and Entra's member and name operations, in order, in one transaction. */
export async function patchScimGroup(store: Store, caller: ScimCaller, groupId: string, operations: PatchOperation[]): Promise<void> {
  await store.identity(caller.orgId, async (tx) => {
    const group = await groupOrThrow(tx, groupId);
    const touched: string[] = (await tx.membersOf(groupId)).map((m) => m.id);
    let displayName = group.displayName;
    let externalId = group.externalId;
    for (const { op, path, value } of operations) {
      const named = path ? memberPathValue(path) : null;
      if (named !== null) {
        if (op !== 'remove') throw badRequest('invalidPath', 'members[value eq "…"] is a path for remove.');
        await tx.removeMembers(groupId, [named]);
        continue;
      }
      if (op === 'remove' && path?.toLowerCase() === 'members' && value === undefined) {
        await tx.removeMembers(groupId, 'all');
        continue;
      }
      const fields: GroupFields = {};
      if (path) groupAttribute(fields, path, value);
      else if (isObject(value)) for (const [key, v] of Object.entries(value)) groupAttribute(fields, key, v);
      else throw badRequest('invalidSyntax', 'An operation without a path needs an object value.');
      if (fields.displayName !== undefined) displayName = fields.displayName;
      if (fields.externalId !== undefined) externalId = fields.externalId;
      if (fields.members !== undefined) {
        if (op === 'remove') await tx.removeMembers(groupId, fields.members);
        else {
          await assertUsers(tx, fields.members);
          if (op === 'replace') await tx.removeMembers(groupId, 'all');
          await tx.addMembers(groupId, fields.members);
          touched.push(...fields.members);
        }
      }
    }
    if (displayName !== group.displayName && (await tx.listGroups(displayName)).length > 0) {
      throw new ScimError(409, 'A group with this displayName already exists.', 'uniqueness');
    }
    await tx.updateGroup(groupId, displayName, externalId, caller.now);
    await applyMappedRoles(tx, caller, touched);
  });
}

export async function deleteScimGroup(store: Store, caller: ScimCaller, groupId: string): Promise<void> {
  await store.identity(caller.orgId, async (tx) => {
    await groupOrThrow(tx, groupId);
    const members = (await tx.membersOf(groupId)).map((m) => m.id);
    await tx.deleteGroup(groupId);
    await applyMappedRoles(tx, caller, members);
  });
}

export async function readScimGroup(store: Store, orgId: string, groupId: string) {
  return store.identity(orgId, async (tx) => {
    const group = await groupOrThrow(tx, groupId);
    return { group, members: await tx.membersOf(groupId) };
  });
}
