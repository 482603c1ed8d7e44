import { badRequest } from './errors.js';
import { isObject, type PatchOperation, scimBoolean } from './patch.js';
import { USER_SCHEMA } from './resources.js';

/** What a SCIM request says about a user, as far as Coachport keeps it. */
export interface UserFields {
  email?: string;
  active?: boolean;
  externalId?: string | null;
  formatted?: string;
  givenName?: string;
  familyName?: string;
  displayName?: string;
}

/** Attributes providers send that Coachport accepts and does not keep (sign-in is by userName, the email). */
const IGNORED = [
  'schemas',
  'id',
  'meta',
  'password',
  'emails',
  'phonenumbers',
  'addresses',
  'title',
  'preferredlanguage',
  'locale',
  'timezone',
  'nickname',
  'profileurl',
  'usertype',
  'roles',
  'entitlements',
  'photos',
  'ims',
  'x509certificates',
  'groups',
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:user',
];

function text(value: unknown, what: string, max = 320): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > max)
    throw badRequest('invalidValue', `${what} must be a non-empty string.`);
  return value.trim();
}

function ignored(attribute: string): boolean {
  return IGNORED.some(
    (name) =>
      attribute === name || attribute.startsWith(`${name}.`) || attribute.startsWith(`${name}[`) || attribute.startsWith(`${name}:`),
  );
}

/** Applies one attribute (a name or a dotted path, any letter case) to `fields`; an unknown one is a 400. */
export function applyUserAttribute(fields: UserFields, attribute: string, value: unknown, op: PatchOperation['op'] = 'replace'): void {
  const name = attribute
    .trim()
    .toLowerCase()
    .replace(/^urn:ietf:params:scim:schemas:core:2\.0:user:/, '');
  if (ignored(name)) return;
  if (op === 'remove') {
    if (name === 'externalid') fields.externalId = null;
    else throw badRequest('mutability', `"${attribute}" cannot be removed.`);
    return;
  }
  switch (name) {
    case 'username': {
      const email = text(value, 'userName');
      if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw badRequest('invalidValue', "userName must be the person's email address.");
      fields.email = email;
      return;
    }
    case 'active':
      fields.active = scimBoolean(value, 'active');
      return;
    case 'externalid':
      fields.externalId = value === null ? null : text(value, 'externalId', 500);
      return;
    case 'displayname':
      fields.displayName = text(value, 'displayName', 200);
      return;
    case 'name':
      if (!isObject(value)) throw badRequest('invalidValue', 'name must be an object.');
      for (const [key, part] of Object.entries(value)) applyUserAttribute(fields, `name.${key}`, part);
      return;
    case 'name.formatted':
      fields.formatted = text(value, 'name.formatted', 200);
      return;
    case 'name.givenname':
      fields.givenName = text(value, 'name.givenName', 200);
      return;
    case 'name.familyname':
      fields.familyName = text(value, 'name.familyName', 200);
      return;
    case 'name.middlename':
    case 'name.honorificprefix':
    case 'name.honorificsuffix':
      return;
    default:
      throw badRequest('invalidPath', `The attribute "${attribute.slice(0, 200)}" is not supported.`);
  }
}

/** The fields of a whole User resource (POST, PUT); a body that is not a SCIM User is a 400. */
export function userFromResource(body: unknown): UserFields {
  if (!isObject(body) || !Array.isArray(body.schemas) || !body.schemas.includes(USER_SCHEMA)) {
    throw badRequest('invalidSyntax', `The body must be a SCIM User resource (schemas: ["${USER_SCHEMA}"]).`);
  }
  const fields: UserFields = {};
  for (const [key, value] of Object.entries(body)) applyUserAttribute(fields, key, value);
  if (fields.email === undefined) throw badRequest('invalidValue', 'userName (the email) is required.');
  return fields;
}

/** The fields a PATCH changes: Okta's path-less replace of an object, Entra's paths, ops in any case. */
export function userFromPatch(operations: PatchOperation[]): UserFields {
  const fields: UserFields = {};
  for (const operation of operations) {
    if (operation.path) applyUserAttribute(fields, operation.path, operation.value, operation.op);
    else if (isObject(operation.value))
      for (const [key, value] of Object.entries(operation.value)) applyUserAttribute(fields, key, value, operation.op);
    else throw badRequest('invalidSyntax', 'An operation without a path needs an object value.');
  }
  return fields;
}

/** The one name Coachport keeps: name.formatted, else given and family names, else displayName. */
export function nameOf(fields: UserFields): string | undefined {
  if (fields.formatted) return fields.formatted;
  const parts = [fields.givenName, fields.familyName].filter(Boolean).join(' ');
  if (fields.givenName && fields.familyName) return parts;
  return fields.displayName ?? (parts || undefined);
}
