/**
 * The roles a person holds in an organization, listed once: the API's schemas, the SQL schema's
 * types and the console's menus all take theirs from here.
 */
export const ROLES = ['admin', 'coach', 'agent'] as const;
export type Role = (typeof ROLES)[number];
