/**
 * The roles a person holds in an organization, listed once and highest first (the role mapping gives
 * a person in several mapped groups the first): the API's schemas, the SQL schema's types and the console's menus take theirs from here.
 */
export const ROLES = ['admin', 'coach', 'agent'] as const;
export type Role = (typeof ROLES)[number];
