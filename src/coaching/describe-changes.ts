import { isoString } from '../contract/dates.js';

/**
 * The activity log's human-readable descriptions: one per changed field, with the old and new
 * value for short fields and only the field's name for free text (notes can be long and private).
 */

const FREE_TEXT = new Set(['coachNotes', 'agentNotes', 'description']);

function shown(value: unknown, isDate: boolean): string {
  if (value === null || value === undefined) return 'nothing';
  if (isDate && typeof value === 'number') return isoString(value);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function describeChanges<T extends object>(
  before: T,
  after: T,
  fields: Array<keyof T & string>,
  options: { dates?: ReadonlyArray<string>; names?: Partial<Record<keyof T & string, string>> } = {},
): string[] {
  const descriptions: string[] = [];
  for (const field of fields) {
    const was = before[field];
    const now = after[field];
    if (JSON.stringify(was) === JSON.stringify(now)) continue;
    const name = options.names?.[field] ?? field;
    if (FREE_TEXT.has(name)) {
      descriptions.push(`${name} changed`);
      continue;
    }
    const isDate = options.dates?.includes(field) ?? false;
    if (was === null || was === undefined) descriptions.push(`${name} set to ${shown(now, isDate)}`);
    else if (now === null || now === undefined) descriptions.push(`${name} cleared (was ${shown(was, isDate)})`);
    else descriptions.push(`${name} changed from ${shown(was, isDate)} to ${shown(now, isDate)}`);
  }
  return descriptions;
}
