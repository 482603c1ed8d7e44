import type { UserAccount } from '../../store/accounts-store.js';
import type { ScimGroupRecord, ScimUser } from '../../store/identity-store.js';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

/** A user as SCIM shows it: userName is the email, name.formatted and displayName the name. */
export function scimUser(user: ScimUser, base: string) {
  return {
    schemas: [USER_SCHEMA],
    id: user.id,
    ...(user.externalId !== null ? { externalId: user.externalId } : {}),
    userName: user.email,
    name: { formatted: user.name },
    displayName: user.name,
    active: user.active,
    emails: [{ value: user.email, type: 'work', primary: true }],
    meta: { resourceType: 'User', location: `${base}/Users/${user.id}` },
  };
}

export function scimGroup(group: ScimGroupRecord, members: UserAccount[], base: string) {
  return {
    schemas: [GROUP_SCHEMA],
    id: group.id,
    ...(group.externalId !== null ? { externalId: group.externalId } : {}),
    displayName: group.displayName,
    members: members.map((m) => ({ value: m.id, display: m.name, $ref: `${base}/Users/${m.id}` })),
    meta: {
      resourceType: 'Group',
      location: `${base}/Groups/${group.id}`,
      created: new Date(group.createdAt).toISOString(),
      lastModified: new Date(group.updatedAt).toISOString(),
    },
  };
}

/** A page of a list: startIndex is 1-based (RFC 7644 §3.4.2.4). */
export function listResponse<T>(all: T[], startIndex: number, count: number) {
  const page = all.slice(startIndex - 1, startIndex - 1 + count);
  return { schemas: [LIST_SCHEMA], totalResults: all.length, startIndex, itemsPerPage: page.length, Resources: page };
}
