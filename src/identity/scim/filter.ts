import { badRequest } from './errors.js';

/** An `attribute eq "value"` filter: the only form §10 needs (and the one Okta and Entra send). */
export interface EqualityFilter {
  attribute: string;
  value: string;
}

const EQUALITY = /^\s*([A-Za-z][\w.:-]*)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$/i;

/**
 * Parses a filter down to one equality, with the attribute's name as `allowed` spells it (SCIM
 * attribute names are case-insensitive). Anything else is a 400 with scimType invalidFilter.
 */
export function parseEqualityFilter(filter: string, allowed: readonly string[]): EqualityFilter {
  const match = EQUALITY.exec(filter);
  if (!match)
    throw badRequest('invalidFilter', `The filter ${JSON.stringify(filter.slice(0, 200))} is not supported: use attribute eq "value".`);
  const attribute = allowed.find((a) => a.toLowerCase() === match[1]!.toLowerCase());
  if (!attribute) throw badRequest('invalidFilter', `Filtering by "${match[1]}" is not supported; use one of ${allowed.join(', ')}.`);
  let value: string;
  try {
    value = JSON.parse(`"${match[2]!}"`) as string;
  } catch {
    throw badRequest('invalidFilter', "The filter's value is not a valid string.");
  }
  return { attribute, value };
}
