import type { Kysely } from 'kysely';

/**
 * Single sign-on and provisioning (SPEC §10): each organization's OpenID provider, the groups that
 * map to roles, the provider's `sub` linked to a user, the pending sign-ins (state, nonce, PKCE
 * verifier, kept server-side until used once), and SCIM's external ids, groups and members.
 * Frozen: its own SQL only. Never edit once shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('identity_oidc')
    .ifNotExists()
    .addColumn('org_id', 'text', (c) => c.primaryKey())
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('client_secret', 'text', (c) => c.notNull())
    .addColumn('groups_claim', 'text', (c) => c.notNull())
    .addColumn('default_role', 'text')
    .addColumn('password_sign_in', 'integer', (c) => c.notNull())
    .addColumn('server_metadata', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('identity_role_groups')
    .ifNotExists()
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('group_name', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('identity_role_groups_pk', ['org_id', 'group_name', 'role'])
    .execute();
  await db.schema
    .createTable('identity_links')
    .ifNotExists()
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('sub', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('identity_links_pk', ['org_id', 'sub'])
    .addForeignKeyConstraint('identity_links_user', ['org_id', 'user_id'], 'users', ['org_id', 'id'])
    .execute();
  await db.schema
    .createTable('identity_login_states')
    .ifNotExists()
    .addColumn('state_hash', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('code_verifier', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('scim_users')
    .ifNotExists()
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text')
    .addPrimaryKeyConstraint('scim_users_pk', ['org_id', 'user_id'])
    .addForeignKeyConstraint('scim_users_user', ['org_id', 'user_id'], 'users', ['org_id', 'id'])
    .execute();
  await db.schema.createIndex('scim_users_by_external_id').ifNotExists().on('scim_users').columns(['org_id', 'external_id']).execute();
  await db.schema
    .createTable('scim_groups')
    .ifNotExists()
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('scim_groups_pk', ['org_id', 'id'])
    .addUniqueConstraint('scim_groups_name', ['org_id', 'display_name'])
    .execute();
  await db.schema
    .createTable('scim_group_members')
    .ifNotExists()
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('group_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('scim_group_members_pk', ['org_id', 'group_id', 'user_id'])
    .addForeignKeyConstraint('scim_group_members_group', ['org_id', 'group_id'], 'scim_groups', ['org_id', 'id'])
    .addForeignKeyConstraint('scim_group_members_user', ['org_id', 'user_id'], 'users', ['org_id', 'id'])
    .execute();
  await db.schema.createIndex('scim_group_members_by_user').ifNotExists().on('scim_group_members').columns(['org_id', 'user_id']).execute();
}
