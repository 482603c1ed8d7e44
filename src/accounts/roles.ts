/**
 * The roles a person holds in an organization, listed once: the API's schemas, the SQL schema's
 * types and the console's menus all take theirs from here.
 */
/** Highest first: the role mapping gives a person in several mapped groups the first they qualify for. */
export const ROLES = ['admin', 'coach', 'agent'] as const;
export type Role = (typeof ROLES)[number];
