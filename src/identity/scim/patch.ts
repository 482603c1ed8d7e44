import { badRequest } from './errors.js';

export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export type PatchOpName = 'add' | 'remove' | 'replace';

export interface PatchOperation {
  op: PatchOpName;
  path: string | null;
  value: unknown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The operations of a PatchOp body, `op` in any letter case (Entra sends "Replace"). */
export function patchOperations(body: unknown): PatchOperation[] {
  if (!isObject(body) || !Array.isArray(body.Operations)) {
    throw badRequest('invalidSyntax', `A PATCH body is a PatchOp (${PATCH_SCHEMA}) with an Operations array.`);
  }
  if (body.Operations.length > 1000) throw badRequest('invalidSyntax', 'At most 1,000 operations in one PATCH.');
  return body.Operations.map((raw, index) => {
    if (!isObject(raw) || typeof raw.op !== 'string') throw badRequest('invalidSyntax', `Operation ${index} has no op.`);
    const op = raw.op.toLowerCase();
    if (op !== 'add' && op !== 'remove' && op !== 'replace')
      throw badRequest('invalidSyntax', `Operation ${index}: op "${raw.op}" is not add, remove or replace.`);
    if (raw.path !== undefined && typeof raw.path !== 'string')
      throw badRequest('invalidPath', `Operation ${index}: path must be a string.`);
    return { op, path: raw.path?.trim() || null, value: raw.value };
  });
}

/** A SCIM boolean, also as the strings Entra sends ("True", "False"). */
export function scimBoolean(value: unknown, what: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  throw badRequest('invalidValue', `${what} must be true or false.`);
}

/** `members[value eq "id"]`: the member a path names, or null when the path is not of that form. */
export function memberPathValue(path: string): string | null {
  const match = /^members\s*\[\s*value\s+eq\s+"([^"]*)"\s*\]$/i.exec(path);
  return match ? match[1]! : null;
}

export { isObject };
