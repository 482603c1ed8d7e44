import type { UserRecord } from '../coaching/records.js';

/** Whether a store transaction only reads ('readOnly') or may write too. */
export type Access = 'readOnly' | 'readWrite';

/** A person's account: the user as the coaching model knows them, and whether they may sign in. */
export interface UserAccount extends UserRecord {
  active: boolean;
}

export interface TokenRecord {
  id: string;
  orgId: string;
  userId: string;
  prefix: string;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  deactivatedAt: number | null;
}

export interface TokenOwner {
  token: TokenRecord;
  user: UserAccount;
}

export interface NewToken {
  id: string;
  orgId: string;
  userId: string;
  hash: string;
  prefix: string;
  createdAt: number;
  expiresAt: number | null;
}

/** A user with their password hash, for checking a sign-in; never leaves the accounts domain. */
export interface SignInCandidate {
  orgId: string;
  user: UserAccount;
  passwordHash: string | null;
}

export interface NewInvite {
  tokenHash: string;
  userId: string;
  createdAt: number;
  expiresAt: number;
}

export interface InviteRecord {
  orgId: string;
  userId: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

export interface BrowserSessionRecord {
  idHash: string;
  orgId: string;
  userId: string;
  createdAt: number;
  lastSeenAt: number;
}

export interface BrowserSessionOwner {
  session: BrowserSessionRecord;
  user: UserAccount;
}

/** One audit entry as written; `details` never holds a secret, a password, a token or a note. */
export interface AuditRecord {
  timestamp: number;
  actorUserId: string | null;
  actorEmail: string | null;
  action: string;
  target: string | null;
  ipAddress: string | null;
  details: Record<string, unknown>;
}

export interface StoredAuditEntry extends AuditRecord {
  seq: number;
}

export interface AuditQuery {
  fromMs: number | null;
  toMs: number | null;
  action: string | null;
  after: { timestamp: number; seq: number } | null;
  limit: number;
}

export interface UserChanges {
  name?: string;
  email?: string;
  role?: UserRecord['role'];
  active?: boolean;
}

/** A person's own settings: the notification mails (SPEC §11) and the console language mails are written in. */
export interface PersonPreferences {
  emailNotifications: boolean;
  language: 'en' | 'ko' | null;
}

/**
 * The reads and writes of one account change, in one transaction of one organization, with the
 * audit entry that records it: the change and its entry, or neither.
 */
export interface AccountsTx {
  getUser(userId: string): Promise<UserAccount | null>;
  /** Locks the user's row until the transaction ends (PostgreSQL), so concurrent edits queue. */
  getUserForUpdate(userId: string): Promise<UserAccount | null>;
  insertUser(user: UserRecord, now: number): Promise<void>;
  /** A change of name re-renders the documents showing it: take lockNameChanges first, before any row lock. */
  updateUser(userId: string, changes: UserChanges, now: number): Promise<void>;
  /**
   * Serializes the changes that could remove an admin within the organization until the
   * transaction ends (PostgreSQL: an advisory lock; SQLite serializes writers), so two admins
   * demoting each other at once cannot both pass the last-admin check.
   */
  lockAdminChanges(): Promise<void>;
  /** Makes a rename of a person wait for the coaching writes under way, and later ones for it (StoreAdapter.lockNames). */
  lockNameChanges(): Promise<void>;
  /** Active admins other than `exceptUserId`. */
  countOtherActiveAdmins(exceptUserId: string): Promise<number>;
  setPassword(userId: string, passwordHash: string, now: number): Promise<void>;
  /** The same password's hash at another cost, only while the stored hash is still `from`; false when it was not. */
  replacePasswordHash(userId: string, from: string, to: string): Promise<boolean>;

  insertInvite(invite: NewInvite): Promise<void>;
  /** Voids the user's unused links, so only the newest one works. */
  voidInvites(userId: string, now: number): Promise<void>;
  /** Marks the unused, unexpired link used; false when another request used it first. */
  useInvite(tokenHash: string, now: number): Promise<boolean>;
  /**
   * Queues the invite's mail where mail is on (SPEC §11), written in the inviter's language until the
   * person chooses one; a newer invite or a voided one cancels the older mail.
   */
  queueInviteMail(userId: string, link: string, inviterId: string | null, now: number): Promise<void>;

  getPreferences(userId: string): Promise<PersonPreferences | null>;
  setPreferences(userId: string, changes: Partial<PersonPreferences>): Promise<void>;

  insertBrowserSession(session: BrowserSessionRecord, ipAddress: string | null): Promise<void>;
  deleteBrowserSession(idHash: string): Promise<void>;
  deleteBrowserSessionsOf(userId: string): Promise<void>;
  /** The user's sessions last seen before `idleSince` or begun before `startedSince`: ended, whether or not anyone asks again. */
  deleteEndedBrowserSessionsOf(userId: string, idleSince: number, startedSince: number): Promise<void>;

  insertToken(token: NewToken): Promise<void>;
  deactivateToken(tokenId: string, now: number): Promise<boolean>;
  insertTemplate(template: { id: string; name: string }, now: number): Promise<void>;

  audit(entry: AuditRecord): Promise<void>;
}

/** What the accounts, sign-in and audit features ask of the store (a part of `Store`). */
export interface AccountsStore {
  /** `work` in one transaction; `readOnly` when it only reads (on SQLite it then never waits for another process's write lock). */
  accounts<T>(orgId: string, work: (tx: AccountsTx) => Promise<T>, access?: Access): Promise<T>;
  /** Active or not, in every organization: an email is unique within one organization only. */
  signInCandidates(email: string): Promise<SignInCandidate[]>;
  findInvite(tokenHash: string): Promise<(InviteRecord & { user: UserAccount }) | null>;
  findBrowserSession(idHash: string): Promise<BrowserSessionOwner | null>;
  touchBrowserSession(idHash: string, now: number): Promise<void>;
  deleteBrowserSession(idHash: string): Promise<void>;
  listAccounts(orgId: string): Promise<UserAccount[]>;
  getAccount(orgId: string, userId: string): Promise<UserAccount | null>;
  /** An entry with no change of its own to share a transaction with (an export that ended). */
  writeAudit(orgId: string, entry: AuditRecord): Promise<void>;
  readAudit(orgId: string, query: AuditQuery): Promise<StoredAuditEntry[]>;
}
