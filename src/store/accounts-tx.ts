import type { Insertable, Kysely, Selectable, Transaction } from 'kysely';
import type { UserRecord } from '../coaching/records.js';
import type {
  AccountsTx,
  AuditQuery,
  AuditRecord,
  BrowserSessionOwner,
  BrowserSessionRecord,
  InviteRecord,
  NewInvite,
  NewToken,
  SignInCandidate,
  StoredAuditEntry,
  UserAccount,
  UserChanges,
  PersonPreferences,
} from './accounts-store.js';
import type { StoreAdapter } from './adapter.js';
import { deliveryRow, queuedMail, type OutboxOptions } from './events/outbox-write.js';
import { refreshDocumentsShowingUser } from './documents/refresh.js';
import { flag, tokenRow } from './rows.js';
import type { AuditLogTable, Database, UsersTable } from './schema.js';

const ACCOUNT_COLUMNS = ['id', 'email', 'name', 'role', 'active'] as const;

export function accountFromRow(row: Pick<Selectable<UsersTable>, (typeof ACCOUNT_COLUMNS)[number]>): UserAccount {
  return { id: row.id, email: row.email, name: row.name, role: row.role, active: Boolean(row.active) };
}

export function auditRow(orgId: string, entry: AuditRecord): Insertable<AuditLogTable> {
  return {
    org_id: orgId,
    timestamp: entry.timestamp,
    actor_user_id: entry.actorUserId,
    actor_email: entry.actorEmail,
    action: entry.action,
    target: entry.target,
    ip_address: entry.ipAddress,
    details: JSON.stringify(entry.details),
  };
}

/** AccountsTx over one Kysely transaction, scoped to one organization. */
export class KyselyAccountsTx implements AccountsTx {
  constructor(
    private readonly trx: Transaction<Database>,
    private readonly orgId: string,
    private readonly adapter: StoreAdapter,
    private readonly outbox: OutboxOptions = { mail: false },
  ) {}

  private userQuery(userId: string) {
    return this.trx.selectFrom('users').select(ACCOUNT_COLUMNS).where('org_id', '=', this.orgId).where('id', '=', userId);
  }

  async getUser(userId: string): Promise<UserAccount | null> {
    const row = await this.userQuery(userId).executeTakeFirst();
    return row ? accountFromRow(row) : null;
  }

  async getUserForUpdate(userId: string): Promise<UserAccount | null> {
    const row = await this.adapter.forUpdate(this.userQuery(userId)).executeTakeFirst();
    return row ? accountFromRow(row) : null;
  }

  async insertUser(user: UserRecord, now: number): Promise<void> {
    await this.trx
      .insertInto('users')
      .values({ org_id: this.orgId, ...user, created_at: now, updated_at: now })
      .execute();
  }

  async updateUser(userId: string, changes: UserChanges, now: number): Promise<void> {
    const set: Partial<Insertable<UsersTable>> = { updated_at: now };
    if (changes.name !== undefined) set.name = changes.name;
    if (changes.email !== undefined) set.email = changes.email;
    if (changes.role !== undefined) set.role = changes.role;
    if (changes.active !== undefined) set.active = flag(changes.active);
    await this.trx.updateTable('users').set(set).where('org_id', '=', this.orgId).where('id', '=', userId).execute();
    // The session documents show coach, agent and to-do creator names: rewritten in this transaction.
    if (changes.name !== undefined) await refreshDocumentsShowingUser(this.trx, this.adapter, this.orgId, userId);
  }

  async lockAdminChanges(): Promise<void> {
    await this.adapter.lockAdminChanges(this.trx, this.orgId);
  }

  async lockNameChanges(): Promise<void> {
    await this.adapter.lockNames(this.trx, this.orgId, 'rename');
  }

  async countOtherActiveAdmins(exceptUserId: string): Promise<number> {
    const rows = await this.trx
      .selectFrom('users')
      .select('id')
      .where('org_id', '=', this.orgId)
      .where('role', '=', 'admin')
      .where('active', '=', flag(true))
      .where('id', '!=', exceptUserId)
      .execute();
    return rows.length;
  }

  async setPassword(userId: string, passwordHash: string, now: number): Promise<void> {
    await this.trx
      .updateTable('users')
      .set({ password_hash: passwordHash, updated_at: now })
      .where('org_id', '=', this.orgId)
      .where('id', '=', userId)
      .execute();
  }

  async replacePasswordHash(userId: string, from: string, to: string): Promise<boolean> {
    const result = await this.trx
      .updateTable('users')
      .set({ password_hash: to })
      .where('org_id', '=', this.orgId)
      .where('id', '=', userId)
      .where('password_hash', '=', from)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async insertInvite(invite: NewInvite): Promise<void> {
    await this.trx
      .insertInto('invites')
      .values({
        token_hash: invite.tokenHash,
        org_id: this.orgId,
        user_id: invite.userId,
        created_at: invite.createdAt,
        expires_at: invite.expiresAt,
        used_at: null,
      })
      .execute();
  }

  async voidInvites(userId: string, now: number): Promise<void> {
    await this.trx
      .updateTable('invites')
      .set({ used_at: now })
      .where('org_id', '=', this.orgId)
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .execute();
    // A link that no longer works is not mailed, and its secret is not kept.
    await this.trx
      .deleteFrom('deliveries')
      .where('org_id', '=', this.orgId)
      .where('recipient_id', '=', userId)
      .where('channel', '=', 'email')
      .where('mail', 'like', '{"kind":"invite"%')
      .execute();
  }

  async queueInviteMail(userId: string, link: string, inviterId: string | null, now: number): Promise<void> {
    if (!this.outbox.mail) return;
    const inviter = inviterId
      ? await this.trx
          .selectFrom('users')
          .select(['name', 'language'])
          .where('org_id', '=', this.orgId)
          .where('id', '=', inviterId)
          .executeTakeFirst()
      : undefined;
    const mail = queuedMail({ kind: 'invite', link, inviterName: inviter?.name ?? null, inviterLanguage: inviter?.language ?? null });
    await this.trx
      .insertInto('deliveries')
      .values(deliveryRow(this.orgId, now, { event_id: null, channel: 'email', endpoint_id: null, recipient_id: userId, mail }))
      .execute();
  }

  async getPreferences(userId: string): Promise<PersonPreferences | null> {
    const row = await this.trx
      .selectFrom('users')
      .select(['email_notifications', 'language'])
      .where('org_id', '=', this.orgId)
      .where('id', '=', userId)
      .executeTakeFirst();
    if (!row) return null;
    const language = row.language === 'en' || row.language === 'ko' ? row.language : null;
    return { emailNotifications: Boolean(row.email_notifications), language };
  }

  async setPreferences(userId: string, changes: Partial<PersonPreferences>): Promise<void> {
    if (changes.emailNotifications === undefined && changes.language === undefined) return;
    await this.trx
      .updateTable('users')
      .set({
        ...(changes.emailNotifications !== undefined ? { email_notifications: flag(changes.emailNotifications) } : {}),
        ...(changes.language !== undefined ? { language: changes.language } : {}),
      })
      .where('org_id', '=', this.orgId)
      .where('id', '=', userId)
      .execute();
  }

  async useInvite(tokenHash: string, now: number): Promise<boolean> {
    const result = await this.trx
      .updateTable('invites')
      .set({ used_at: now })
      .where('org_id', '=', this.orgId)
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async insertBrowserSession(session: BrowserSessionRecord, ipAddress: string | null): Promise<void> {
    await this.trx
      .insertInto('browser_sessions')
      .values({
        id_hash: session.idHash,
        org_id: this.orgId,
        user_id: session.userId,
        created_at: session.createdAt,
        last_seen_at: session.lastSeenAt,
        ip_address: ipAddress,
      })
      .execute();
  }

  async deleteBrowserSession(idHash: string): Promise<void> {
    await this.trx.deleteFrom('browser_sessions').where('org_id', '=', this.orgId).where('id_hash', '=', idHash).execute();
  }

  async deleteBrowserSessionsOf(userId: string): Promise<void> {
    await this.trx.deleteFrom('browser_sessions').where('org_id', '=', this.orgId).where('user_id', '=', userId).execute();
  }

  async deleteEndedBrowserSessionsOf(userId: string, idleSince: number, startedSince: number): Promise<void> {
    await this.trx
      .deleteFrom('browser_sessions')
      .where('org_id', '=', this.orgId)
      .where('user_id', '=', userId)
      .where((eb) => eb.or([eb('last_seen_at', '<=', idleSince), eb('created_at', '<=', startedSince)]))
      .execute();
  }

  async insertToken(token: NewToken): Promise<void> {
    await this.trx.insertInto('api_tokens').values(tokenRow(token)).execute();
  }

  async deactivateToken(tokenId: string, now: number): Promise<boolean> {
    const result = await this.trx
      .updateTable('api_tokens')
      .set({ deactivated_at: now })
      .where('org_id', '=', this.orgId)
      .where('id', '=', tokenId)
      .where('deactivated_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async insertTemplate(template: { id: string; name: string }, now: number): Promise<void> {
    await this.trx
      .insertInto('coaching_templates')
      .values({ org_id: this.orgId, id: template.id, name: template.name, created_at: now, updated_at: now })
      .execute();
  }

  async audit(entry: AuditRecord): Promise<void> {
    await this.trx.insertInto('audit_log').values(auditRow(this.orgId, entry)).execute();
  }
}

/** The account reads that are not scoped by a known organization (sign-in, invite links, cookies). */
export class AccountQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async signInCandidates(email: string): Promise<SignInCandidate[]> {
    const rows = await this.db
      .selectFrom('users')
      .select(['org_id', ...ACCOUNT_COLUMNS, 'password_hash'])
      .where('email', '=', email)
      .orderBy('created_at')
      .orderBy('org_id')
      .execute();
    return rows.map((row) => ({ orgId: row.org_id, user: accountFromRow(row), passwordHash: row.password_hash }));
  }

  async findInvite(tokenHash: string): Promise<(InviteRecord & { user: UserAccount }) | null> {
    const row = await this.db
      .selectFrom('invites as i')
      .innerJoin('users as u', (j) => j.onRef('u.org_id', '=', 'i.org_id').onRef('u.id', '=', 'i.user_id'))
      .select(['i.org_id', 'i.user_id', 'i.created_at', 'i.expires_at', 'i.used_at', 'u.id', 'u.email', 'u.name', 'u.role', 'u.active'])
      .where('i.token_hash', '=', tokenHash)
      .executeTakeFirst();
    if (!row) return null;
    return {
      orgId: row.org_id,
      userId: row.user_id,
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
      usedAt: row.used_at === null ? null : Number(row.used_at),
      user: accountFromRow(row),
    };
  }

  async findBrowserSession(idHash: string): Promise<BrowserSessionOwner | null> {
    const row = await this.db
      .selectFrom('browser_sessions as s')
      .innerJoin('users as u', (j) => j.onRef('u.org_id', '=', 's.org_id').onRef('u.id', '=', 's.user_id'))
      .select(['s.id_hash', 's.org_id', 's.user_id', 's.created_at', 's.last_seen_at', 'u.id', 'u.email', 'u.name', 'u.role', 'u.active'])
      .where('s.id_hash', '=', idHash)
      .executeTakeFirst();
    if (!row) return null;
    return {
      session: {
        idHash: row.id_hash,
        orgId: row.org_id,
        userId: row.user_id,
        createdAt: Number(row.created_at),
        lastSeenAt: Number(row.last_seen_at),
      },
      user: accountFromRow(row),
    };
  }

  async touchBrowserSession(idHash: string, now: number): Promise<void> {
    // As a token's mark (KyselyStore.markTokenUsed): never a step back.
    await this.db
      .updateTable('browser_sessions')
      .set({ last_seen_at: now })
      .where('id_hash', '=', idHash)
      .where('last_seen_at', '<', now)
      .execute();
  }

  async deleteBrowserSession(idHash: string): Promise<void> {
    await this.db.deleteFrom('browser_sessions').where('id_hash', '=', idHash).execute();
  }

  async listAccounts(orgId: string): Promise<UserAccount[]> {
    const rows = await this.db
      .selectFrom('users')
      .select(ACCOUNT_COLUMNS)
      .where('org_id', '=', orgId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(accountFromRow);
  }

  async getAccount(orgId: string, userId: string): Promise<UserAccount | null> {
    const row = await this.db
      .selectFrom('users')
      .select(ACCOUNT_COLUMNS)
      .where('org_id', '=', orgId)
      .where('id', '=', userId)
      .executeTakeFirst();
    return row ? accountFromRow(row) : null;
  }

  async writeAudit(orgId: string, entry: AuditRecord): Promise<void> {
    await this.db.insertInto('audit_log').values(auditRow(orgId, entry)).execute();
  }

  async readAudit(orgId: string, query: AuditQuery): Promise<StoredAuditEntry[]> {
    let q = this.db.selectFrom('audit_log').selectAll().where('org_id', '=', orgId);
    if (query.fromMs !== null) q = q.where('timestamp', '>=', query.fromMs);
    if (query.toMs !== null) q = q.where('timestamp', '<=', query.toMs);
    if (query.action !== null) q = q.where('action', '=', query.action);
    const after = query.after;
    if (after) {
      q = q.where((eb) =>
        eb.or([eb('timestamp', '>', after.timestamp), eb.and([eb('timestamp', '=', after.timestamp), eb('seq', '>', after.seq)])]),
      );
    }
    const rows = await q.orderBy('timestamp').orderBy('seq').limit(query.limit).execute();
    return rows.map((row) => ({
      seq: Number(row.seq),
      timestamp: Number(row.timestamp),
      actorUserId: row.actor_user_id,
      actorEmail: row.actor_email,
      action: row.action,
      target: row.target,
      ipAddress: row.ip_address,
      details: JSON.parse(row.details) as Record<string, unknown>,
    }));
  }
}
