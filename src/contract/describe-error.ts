import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import type { TSchema } from '@sinclair/typebox';
import { hasDayForm } from './dates.js';

/**
 * Turns the first schema violation into one sentence that names the field and says what is
 * wrong, which is what the contract promises for every 400.
 */

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** `/3/coachingPoints/1/type` → `[3].coachingPoints[1].type`; the root is named by the caller. */
export function fieldLabel(path: string): string {
  const segments = path.split('/').slice(1).map(unescapePointer);
  let label = '';
  for (const segment of segments) {
    label += /^\d+$/.test(segment) ? `[${segment}]` : label === '' ? segment : `.${segment}`;
  }
  return label;
}

function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const short = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return JSON.stringify(short);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  return typeof value;
}

function typeName(schema: TSchema): string {
  if ('const' in schema) return JSON.stringify(schema.const);
  switch (schema.type) {
    case 'string':
      return 'a string';
    case 'null':
      return 'null';
    case 'boolean':
      return 'true or false';
    case 'integer':
      return 'a whole number';
    case 'number':
      return 'a number';
    case 'array':
      return 'an array';
    case 'object':
      return 'a JSON object';
    default:
      return 'a valid value';
  }
}

function sameKind(schema: TSchema, value: unknown): boolean {
  const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return schema.type === kind || (schema.type === 'integer' && kind === 'number');
}

function describeUnion(error: ValueError): string {
  const { schema, value } = error;
  const branches = (schema.anyOf ?? []) as TSchema[];
  if (branches.length > 0 && branches.every((branch) => 'const' in branch)) {
    return `must be one of ${branches.map((branch) => String(branch.const)).join(', ')}, not ${quote(value)}`;
  }
  // A value of the right kind that breaks a rule of that kind (a string that is not a date):
  // say what is wrong with it rather than listing the kinds.
  const index = branches.findIndex((branch) => sameKind(branch, value));
  const inner = index >= 0 ? error.errors[index]?.First() : undefined;
  if (inner) return problem(inner);
  const names = [...new Set(branches.map(typeName))];
  return `must be ${names.join(' or ')}, not ${kindOf(value)}`;
}

function describeFormat(schema: TSchema, value: unknown): string {
  if (schema.format === 'date') {
    return typeof value === 'string' && hasDayForm(value)
      ? `must be a real calendar day, and ${quote(value)} is not`
      : `must be a date in YYYY-MM-DD form, not ${quote(value)}`;
  }
  if (schema.format === 'date-time') {
    return `must be an ISO 8601 date-time with a time zone such as "2021-12-01T10:00:00.000Z", not ${quote(value)}`;
  }
  return `must be in ${String(schema.format)} format`;
}

function problem(error: ValueError): string {
  const { schema, value } = error;
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required';
    case ValueErrorType.ObjectAdditionalProperties:
      return 'is not a known field';
    case ValueErrorType.Union:
      return describeUnion(error);
    case ValueErrorType.StringFormat:
      return describeFormat(schema, value);
    case ValueErrorType.StringMinLength:
      return schema.minLength === 1 ? 'must not be empty' : `must be at least ${schema.minLength} characters long`;
    case ValueErrorType.StringMaxLength:
      return `must be at most ${schema.maxLength} characters long`;
    case ValueErrorType.StringPattern:
      return `must match the pattern ${schema.pattern}`;
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
      return `must be at least ${schema.minimum}`;
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum:
      return `must be at most ${schema.maximum}`;
    case ValueErrorType.ArrayMinItems:
      return `must have at least ${schema.minItems} element${schema.minItems === 1 ? '' : 's'}`;
    case ValueErrorType.ArrayMaxItems:
      return `must have at most ${schema.maxItems} elements`;
    case ValueErrorType.ObjectMinProperties:
      return 'must name at least one field to change';
    case ValueErrorType.ArrayUniqueItems:
      return 'must not list the same value twice';
    case ValueErrorType.Literal:
      return `must be ${JSON.stringify(schema.const)}`;
    default:
      return value === undefined ? `is missing; it must be ${typeName(schema)}` : `must be ${typeName(schema)}, not ${kindOf(value)}`;
  }
}

/**
 * One sentence for a schema violation. `root` names the whole value ("The request body");
 * fields are named by their path.
 */
export function describeValueError(error: ValueError, root: string): string {
  const label = fieldLabel(error.path);
  return `${label === '' ? root : label} ${problem(error)}.`;
}
