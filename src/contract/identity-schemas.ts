import { Type, type Static } from '@sinclair/typebox';
import { Nullable, OneOf } from './schemas.js';

/** Request and response bodies of single sign-on's configuration (SPEC §10). */

const closed = { additionalProperties: false } as const;
const Groups = Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 200 });

export const RoleMappingBody = Type.Object(
  { admin: Type.Optional(Groups), coach: Type.Optional(Groups), agent: Type.Optional(Groups) },
  { ...closed, description: 'The provider groups that give each role; a person in several gets the highest (admin > coach > agent).' },
);
export type RoleMappingBody = Static<typeof RoleMappingBody>;
export const RoleMappingSchema = Type.Object({
  admin: Type.Array(Type.String()),
  coach: Type.Array(Type.String()),
  agent: Type.Array(Type.String()),
});

export const DEFAULT_ROLES = ['agent', 'coach'] as const;

export const OidcBody = Type.Object(
  {
    issuer: Type.String({
      minLength: 1,
      maxLength: 2000,
      description: 'The issuer URL; its /.well-known/openid-configuration is read when saved.',
    }),
    clientId: Type.String({ minLength: 1, maxLength: 500 }),
    clientSecret: Type.Optional(
      Type.String({ minLength: 1, maxLength: 2000, description: 'Required the first time; omit it to keep the saved one.' }),
    ),
    groupsClaim: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'The ID token claim that lists the groups; "groups" by default.' }),
    ),
    defaultRole: Type.Optional(
      Nullable(OneOf(DEFAULT_ROLES, { description: 'The role of a new person in no mapped group; null refuses them.' })),
    ),
    passwordSignIn: Type.Optional(
      Type.Boolean({ description: 'false leaves password sign-in to admins only (the way in when the provider is down).' }),
    ),
  },
  closed,
);
export type OidcBody = Static<typeof OidcBody>;

export const OidcSchema = Type.Object({
  enabled: Type.Boolean(),
  issuer: Nullable(Type.String()),
  clientId: Nullable(Type.String()),
  clientSecretSet: Type.Boolean(),
  groupsClaim: Type.String(),
  defaultRole: Nullable(OneOf(DEFAULT_ROLES)),
  passwordSignIn: Type.Boolean(),
  signInUrl: Type.String({ description: 'The console address that offers "Sign in with your company account".' }),
  redirectUri: Type.String({ description: 'The one redirect URI to register at the provider.' }),
});

export const OidcStartParams = Type.Object({ organizationId: Type.String({ minLength: 1, maxLength: 200 }) }, closed);
export type OidcStartParams = Static<typeof OidcStartParams>;
