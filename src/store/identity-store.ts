import type { Kysely, Transaction } from 'kysely';
import type { Access, AccountsTx, UserAccount } from './accounts-store.js';
import { ROLES, type Role } from '../accounts/roles.js';

export type DefaultRole = 'agent' | 'coach' | null;

/** An organization's OpenID provider as saved; `serverMetadata` is the discovery document found at save time. */
export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  groupsClaim: string;
  defaultRole: DefaultRole;
  passwordSignIn: boolean;
  serverMetadata: string;
  updatedAt: number;
}

/** Which provider groups give which role. */
export type RoleMapping = Record<Role, string[]>;

/** A sign-in begun at /start and not yet finished: what the callback must check against. */
export interface LoginState {
  orgId: string;
  nonce: string;
  codeVerifier: string;
  expiresAt: number;
}

export interface ScimUser extends UserAccount {
  externalId: string | null;
}

export interface ScimGroupRecord {
  id: string;
  displayName: string;
  externalId: string | null;
  createdAt: number;
  updatedAt: number;
}

/** Identity reads and writes inside one transaction of one organization, beside the accounts ones. */
export interface IdentityTx {
  readonly accounts: AccountsTx;
  getOidc(): Promise<OidcSettings | null>;
  saveOidc(settings: OidcSettings): Promise<void>;
  deleteOidc(): Promise<boolean>;
  getRoleMapping(): Promise<RoleMapping>;
  saveRoleMapping(mapping: RoleMapping): Promise<void>;
  linkedUserId(sub: string): Promise<string | null>;
  link(sub: string, userId: string, now: number): Promise<void>;
  /** Whether the user is linked to any provider identity. */
  isLinked(userId: string): Promise<boolean>;
  findUserByEmail(email: string): Promise<UserAccount | null>;

  getScimUser(userId: string): Promise<ScimUser | null>;
  /** Users, oldest first, optionally only those whose email or external id equals `value`. */
  listScimUsers(where: { attribute: 'email' | 'externalId'; value: string } | null): Promise<ScimUser[]>;
  setExternalId(userId: string, externalId: string | null): Promise<void>;

  getGroup(id: string): Promise<ScimGroupRecord | null>;
  listGroups(displayName: string | null): Promise<ScimGroupRecord[]>;
  insertGroup(group: ScimGroupRecord): Promise<void>;
  updateGroup(id: string, displayName: string, externalId: string | null, now: number): Promise<void>;
  deleteGroup(id: string): Promise<void>;
  membersOf(groupId: string): Promise<UserAccount[]>;
  addMembers(groupId: string, userIds: string[]): Promise<void>;
  removeMembers(groupId: string, userIds: string[] | 'all'): Promise<void>;
  /** Display names of the SCIM groups the user is in. */
  groupNamesOf(userId: string): Promise<string[]>;
}

/** What the identity features ask of the store (a part of `Store`). */
export interface IdentityStore {
  /** As AccountsStore.accounts: `readOnly` when `work` only reads. */
  identity<T>(orgId: string, work: (tx: IdentityTx) => Promise<T>, access?: Access): Promise<T>;
  insertLoginState(stateHash: string, state: LoginState): Promise<void>;
  /** The pending sign-in under this hash, removed as it is read, so a state is used once; null when unknown. */
  takeLoginState(stateHash: string): Promise<LoginState | null>;
}

interface IdentityTables {
  identity_oidc: {
    org_id: string;
    issuer: string;
    client_id: string;
    client_secret: string;
    groups_claim: string;
    default_role: string | null;
    password_sign_in: number;
    server_metadata: string;
    updated_at: number;
  };
  identity_role_groups: { org_id: string; group_name: string; role: string };
  identity_links: { org_id: string; sub: string; user_id: string; created_at: number };
  identity_login_states: { state_hash: string; org_id: string; nonce: string; code_verifier: string; expires_at: number };
  scim_users: { org_id: string; user_id: string; external_id: string | null };
  scim_groups: { org_id: string; id: string; display_name: string; external_id: string | null; created_at: number; updated_at: number };
  scim_group_members: { org_id: string; group_id: string; user_id: string };
  users: { org_id: string; id: string; email: string; name: string; role: Role; active: number | boolean; created_at: number };
}

function account(row: { id: string; email: string; name: string; role: Role; active: number | boolean }): UserAccount {
  return { id: row.id, email: row.email, name: row.name, role: row.role, active: Boolean(row.active) };
}

/** IdentityTx over the store's transaction, whose schema type does not list these tables. */
export function identityTx<DB>(trx: Transaction<DB>, orgId: string, accounts: AccountsTx): IdentityTx {
  return new KyselyIdentityTx(trx as unknown as Kysely<IdentityTables>, orgId, accounts);
}

/** Pending sign-ins over the store's database. */
export function loginStates<DB>(db: Kysely<DB>): KyselyLoginStates {
  return new KyselyLoginStates(db as unknown as Kysely<IdentityTables>);
}

/** Works on both databases: plain Kysely, no database-specific SQL. */
class KyselyIdentityTx implements IdentityTx {
  constructor(
    private readonly trx: Kysely<IdentityTables>,
    private readonly orgId: string,
    readonly accounts: AccountsTx,
  ) {}

  async getOidc(): Promise<OidcSettings | null> {
    const row = await this.trx.selectFrom('identity_oidc').selectAll().where('org_id', '=', this.orgId).executeTakeFirst();
    if (!row) return null;
    return {
      issuer: row.issuer,
      clientId: row.client_id,
      clientSecret: row.client_secret,
      groupsClaim: row.groups_claim,
      defaultRole: row.default_role as DefaultRole,
      passwordSignIn: Boolean(row.password_sign_in),
      serverMetadata: row.server_metadata,
      updatedAt: Number(row.updated_at),
    };
  }

  async saveOidc(s: OidcSettings): Promise<void> {
    const values = {
      issuer: s.issuer,
      client_id: s.clientId,
      client_secret: s.clientSecret,
      groups_claim: s.groupsClaim,
      default_role: s.defaultRole,
      password_sign_in: s.passwordSignIn ? 1 : 0,
      server_metadata: s.serverMetadata,
      updated_at: s.updatedAt,
    };
    await this.trx
      .insertInto('identity_oidc')
      .values({ org_id: this.orgId, ...values })
      .onConflict((oc) => oc.column('org_id').doUpdateSet(values))
      .execute();
  }

  async deleteOidc(): Promise<boolean> {
    const result = await this.trx.deleteFrom('identity_oidc').where('org_id', '=', this.orgId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async getRoleMapping(): Promise<RoleMapping> {
    const rows = await this.trx
      .selectFrom('identity_role_groups')
      .select(['group_name', 'role'])
      .where('org_id', '=', this.orgId)
      .orderBy('group_name')
      .execute();
    const mapping: RoleMapping = { admin: [], coach: [], agent: [] };
    for (const row of rows) if ((ROLES as readonly string[]).includes(row.role)) mapping[row.role as Role].push(row.group_name);
    return mapping;
  }

  async saveRoleMapping(mapping: RoleMapping): Promise<void> {
    await this.trx.deleteFrom('identity_role_groups').where('org_id', '=', this.orgId).execute();
    const rows = ROLES.flatMap((role) => [...new Set(mapping[role])].map((group_name) => ({ org_id: this.orgId, group_name, role })));
    if (rows.length > 0) await this.trx.insertInto('identity_role_groups').values(rows).execute();
  }

  async linkedUserId(sub: string): Promise<string | null> {
    const row = await this.trx
      .selectFrom('identity_links')
      .select('user_id')
      .where('org_id', '=', this.orgId)
      .where('sub', '=', sub)
      .executeTakeFirst();
    return row?.user_id ?? null;
  }

  async link(sub: string, userId: string, now: number): Promise<void> {
    await this.trx.insertInto('identity_links').values({ org_id: this.orgId, sub, user_id: userId, created_at: now }).execute();
  }

  async isLinked(userId: string): Promise<boolean> {
    const row = await this.trx
      .selectFrom('identity_links')
      .select('sub')
      .where('org_id', '=', this.orgId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async findUserByEmail(email: string): Promise<UserAccount | null> {
    const row = await this.trx
      .selectFrom('users')
      .select(['id', 'email', 'name', 'role', 'active'])
      .where('org_id', '=', this.orgId)
      .where('email', '=', email)
      .executeTakeFirst();
    return row ? account(row) : null;
  }

  private scimUsers() {
    return this.trx
      .selectFrom('users')
      .leftJoin('scim_users', (join) => join.onRef('scim_users.org_id', '=', 'users.org_id').onRef('scim_users.user_id', '=', 'users.id'))
      .select(['users.id', 'users.email', 'users.name', 'users.role', 'users.active', 'scim_users.external_id'])
      .where('users.org_id', '=', this.orgId);
  }

  async getScimUser(userId: string): Promise<ScimUser | null> {
    const row = await this.scimUsers().where('users.id', '=', userId).executeTakeFirst();
    return row ? { ...account(row), externalId: row.external_id ?? null } : null;
  }

  async listScimUsers(where: { attribute: 'email' | 'externalId'; value: string } | null): Promise<ScimUser[]> {
    let query = this.scimUsers();
    if (where?.attribute === 'email') query = query.where('users.email', '=', where.value);
    if (where?.attribute === 'externalId') query = query.where('scim_users.external_id', '=', where.value);
    const rows = await query.orderBy('users.created_at').orderBy('users.id').execute();
    return rows.map((row) => ({ ...account(row), externalId: row.external_id ?? null }));
  }

  async setExternalId(userId: string, externalId: string | null): Promise<void> {
    await this.trx
      .insertInto('scim_users')
      .values({ org_id: this.orgId, user_id: userId, external_id: externalId })
      .onConflict((oc) => oc.columns(['org_id', 'user_id']).doUpdateSet({ external_id: externalId }))
      .execute();
  }

  async getGroup(id: string): Promise<ScimGroupRecord | null> {
    const row = await this.trx
      .selectFrom('scim_groups')
      .selectAll()
      .where('org_id', '=', this.orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? groupFromRow(row) : null;
  }

  async listGroups(displayName: string | null): Promise<ScimGroupRecord[]> {
    let query = this.trx.selectFrom('scim_groups').selectAll().where('org_id', '=', this.orgId);
    if (displayName !== null) query = query.where('display_name', '=', displayName);
    return (await query.orderBy('created_at').orderBy('id').execute()).map(groupFromRow);
  }

  async insertGroup(group: ScimGroupRecord): Promise<void> {
    await this.trx
      .insertInto('scim_groups')
      .values({
        org_id: this.orgId,
        id: group.id,
        display_name: group.displayName,
        external_id: group.externalId,
        created_at: group.createdAt,
        updated_at: group.updatedAt,
      })
      .execute();
  }

  async updateGroup(id: string, displayName: string, externalId: string | null, now: number): Promise<void> {
    await this.trx
      .updateTable('scim_groups')
      .set({ display_name: displayName, external_id: externalId, updated_at: now })
      .where('org_id', '=', this.orgId)
      .where('id', '=', id)
      .execute();
  }

  async deleteGroup(id: string): Promise<void> {
    await this.removeMembers(id, 'all');
    await this.trx.deleteFrom('scim_groups').where('org_id', '=', this.orgId).where('id', '=', id).execute();
  }

  async membersOf(groupId: string): Promise<UserAccount[]> {
    const rows = await this.trx
      .selectFrom('scim_group_members')
      .innerJoin('users', (join) =>
        join.onRef('users.org_id', '=', 'scim_group_members.org_id').onRef('users.id', '=', 'scim_group_members.user_id'),
      )
      .select(['users.id', 'users.email', 'users.name', 'users.role', 'users.active'])
      .where('scim_group_members.org_id', '=', this.orgId)
      .where('scim_group_members.group_id', '=', groupId)
      .orderBy('users.id')
      .execute();
    return rows.map(account);
  }

  async addMembers(groupId: string, userIds: string[]): Promise<void> {
    const rows = [...new Set(userIds)].map((user_id) => ({ org_id: this.orgId, group_id: groupId, user_id }));
    if (rows.length === 0) return;
    await this.trx
      .insertInto('scim_group_members')
      .values(rows)
      .onConflict((oc) => oc.columns(['org_id', 'group_id', 'user_id']).doNothing())
      .execute();
  }

  async removeMembers(groupId: string, userIds: string[] | 'all'): Promise<void> {
    if (userIds !== 'all' && userIds.length === 0) return;
    let query = this.trx.deleteFrom('scim_group_members').where('org_id', '=', this.orgId).where('group_id', '=', groupId);
    if (userIds !== 'all') query = query.where('user_id', 'in', userIds);
    await query.execute();
  }

  async groupNamesOf(userId: string): Promise<string[]> {
    const rows = await this.trx
      .selectFrom('scim_group_members')
      .innerJoin('scim_groups', (join) =>
        join.onRef('scim_groups.org_id', '=', 'scim_group_members.org_id').onRef('scim_groups.id', '=', 'scim_group_members.group_id'),
      )
      .select('scim_groups.display_name')
      .where('scim_group_members.org_id', '=', this.orgId)
      .where('scim_group_members.user_id', '=', userId)
      .execute();
    return rows.map((row) => row.display_name);
  }
}

function groupFromRow(row: IdentityTables['scim_groups']): ScimGroupRecord {
  return {
    id: row.id,
    displayName: row.display_name,
    externalId: row.external_id,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** The pending sign-ins, outside any organization's transaction: the callback learns the organization from them. */
class KyselyLoginStates {
  constructor(private readonly db: Kysely<IdentityTables>) {}

  async insert(stateHash: string, state: LoginState): Promise<void> {
    await this.db
      .insertInto('identity_login_states')
      .values({
        state_hash: stateHash,
        org_id: state.orgId,
        nonce: state.nonce,
        code_verifier: state.codeVerifier,
        expires_at: state.expiresAt,
      })
      .execute();
    // Sign-ins abandoned at the provider would otherwise pile up.
    await this.db
      .deleteFrom('identity_login_states')
      .where('expires_at', '<', state.expiresAt - 86_400_000)
      .execute();
  }

  async take(stateHash: string): Promise<LoginState | null> {
    const row = await this.db.selectFrom('identity_login_states').selectAll().where('state_hash', '=', stateHash).executeTakeFirst();
    if (!row) return null;
    const deleted = await this.db.deleteFrom('identity_login_states').where('state_hash', '=', stateHash).executeTakeFirst();
    // Two callbacks racing on one state: only the one that removed it may go on.
    if (Number(deleted.numDeletedRows) === 0) return null;
    return { orgId: row.org_id, nonce: row.nonce, codeVerifier: row.code_verifier, expiresAt: Number(row.expires_at) };
  }
}
