import type { ControlledTransactionBuilder, Expression, Kysely, RawBuilder, SelectQueryBuilder, SqlBool } from 'kysely';
import type { MigrationEngine } from './migrations/engine.js';
import type { Database } from './schema.js';
import type { FeedChange, FeedPosition } from './store.js';

/** The xid and seq a document write stores: where the session now stands in the change feed. */
export interface FeedPositionValues {
  xid: number | RawBuilder<string>;
  seq: number | RawBuilder<number>;
}

/**
 * One name spliced into stored documents (documents/splice.ts): the key's text, the text of the
 * key that follows it, the name's JSON text, and the sessions whose documents show it.
 */
export interface NameSplice {
  key: string;
  next: string;
  value: string;
  column: RawBuilder<unknown>;
  id: string;
}

/**
 * The statistics SQL that differs: a day number as `YYYY-MM-DD` and its month as `YYYY-MM`, and
 * the median, an aggregate on both. Both medians take the middle value, or for an even count the
 * lower middle value plus half the difference to the upper one: over whole milliseconds (far below
 * 2^52) every step is exact in a double, so the result is exactly the mean of the two.
 */
export interface StatsSql {
  day(day: RawBuilder<number>): RawBuilder<string>;
  month(day: RawBuilder<number>): RawBuilder<string>;
  median(column: RawBuilder<unknown>): RawBuilder<number | null>;
}

/** The longest a rename waits for any lock on PostgreSQL (StoreAdapter.lockNames), as SQLite's writes wait for its lock. */
export const RENAME_LOCK_WAIT_MS = 5000;

/**
 * What differs between the databases in the SQL the shared store code runs, and nothing else: one
 * stateless object per database (sqlite/adapter.ts, postgres/adapter.ts), as Kysely's own
 * SqliteAdapter and PostgresAdapter are. The shared code asks it and never names a database.
 * What needs a connection (export readers, the bulk import) is the Driver's (driver.ts).
 */
export interface StoreAdapter {
  /** The name the migrations know this database by (they are written per database). */
  readonly name: MigrationEngine;
  /** `column IN (ids)` in the form this database plans fastest. */
  idIn(column: string, ids: string[]): Expression<SqlBool>;
  /**
   * The text column in code point order, whatever the database's collation: the order every
   * render sorts ids in (the import renders in JavaScript; PostgreSQL's default collation is often
   * ICU's or glibc's, which sort "a1" before "B1").
   */
  byCodePoint(column: string): Expression<string>;
  /**
   * The query, made to lock the rows it reads until the transaction ends where the database locks
   * rows; where writers are serialized (SQLite) there is nothing to lock and it is unchanged.
   */
  forUpdate<DB, TB extends keyof DB, O>(query: SelectQueryBuilder<DB, TB, O>): SelectQueryBuilder<DB, TB, O>;
  /**
   * The query, made to pass over rows another transaction has locked and lock the ones it reads,
   * so processes claiming work from one table each take different rows (PostgreSQL: FOR UPDATE
   * SKIP LOCKED); where writers are serialized (SQLite) it is unchanged.
   */
  skipLocked<DB, TB extends keyof DB, O>(query: SelectQueryBuilder<DB, TB, O>): SelectQueryBuilder<DB, TB, O>;
  /**
   * Locks these sessions in id order until the transaction ends, so a rewrite never renders a
   * session another transaction is changing; `ids` is only asked for where rows are locked.
   */
  lockSessionsForUpdate(trx: Kysely<Database>, orgId: string, ids: () => Promise<string[]>): Promise<void>;
  /** Makes changes to an organization's admins run one after another until the transaction ends. */
  lockAdminChanges(trx: Kysely<Database>, orgId: string): Promise<void>;
  /**
   * Until the transaction ends: a rename of a person or template through the API, the console or
   * provisioning (`'rename'`) waits for the organization's coaching writes under way, and they
   * (`'write'`, shared among them) for it. A rename rewrites the documents that show the name among
   * committed rows; a write beside it that had read the old name for a session the rename could not
   * see yet (one it was moving to that template, or linking to a to-do that person created) would
   * otherwise store that name after the rename, until the session's next write. Taken before any
   * row lock. A rename waits for no lock longer than RENAME_LOCK_WAIT_MS (then a 503), since the
   * organization's writes queue behind it meanwhile, and while a streamed import writes (its own
   * lock held until it commits) it is refused at once (StoreBusyError, a 503), as every write waits
   * on SQLite while `coachport import` holds the file. An import's own renames (its upserts of
   * people and templates) cannot take it while the import writes: the organization's writes would
   * wait for hours, and one waiting for a session the import holds would deadlock with it. Once the
   * import has committed, its names are spliced again in a transaction each that takes it as a
   * rename (documents/names-to-splice.ts): `'import'` on the streamed import's own connection, which
   * holds the import lock and so is not refused for it (nor could it ask: a second import queued for
   * that lock makes the holder's own try fail on PostgreSQL, whose lock manager puts a request behind
   * those already waiting).
   */
  lockNames(trx: Kysely<Database>, orgId: string, as: 'write' | 'rename' | 'import'): Promise<void>;
  /**
   * Refuses at once (StoreBusyError: a 503 with Retry-After) while a streamed import writes to the
   * organization, which holds its own lock until it has committed: a rename (through `lockNames`), or
   * an import sent to the server, would otherwise wait as long as it runs, and the organization's
   * writes queue behind a rename meanwhile. Shared until the transaction ends, so a streamed import
   * that starts meanwhile waits for it instead.
   */
  refuseDuringImport(trx: Kysely<Database>, orgId: string, what: 'rename' | 'import'): Promise<void>;
  /** The read-only transaction an export reads in, seeing one snapshot throughout. */
  snapshotTransaction(begin: ControlledTransactionBuilder<Database>): ControlledTransactionBuilder<Database>;
  /** A document's JSON, as text or UTF-8 bytes, as the document column stores it. */
  documentValue(json: string | Uint8Array): Buffer | string;
  /** Hands out the feed positions of the documents this transaction writes next, one a call. */
  feedPositions(trx: Kysely<Database>, orgId: string): Promise<() => FeedPositionValues>;
  /** The change feed's read (Store.changesAfter), with its arguments checked and defaulted. */
  changesAfter(db: Kysely<Database>, orgId: string, from: FeedPosition, limit: number, maxBytes: number): Promise<FeedChange[]>;
  /** Whether a position lies beyond any this database can have handed out (Store.feedPositionAhead). */
  feedPositionAhead(db: Kysely<Database>, orgId: string, position: FeedPosition): Promise<boolean>;
  /** One set-based UPDATE of the stored documents, moving each in the change feed. */
  spliceName(trx: Kysely<Database>, orgId: string, splice: NameSplice): Promise<void>;
  /**
   * Opens a write transaction on a single-connection Kysely (the migration lock's connection): on
   * SQLite it takes the write lock at once, so a second process waits instead of reading stale state.
   */
  beginWrite(db: Kysely<Database>): Promise<void>;
  /** Fresh planner statistics for a table just built in bulk, where the planner needs them. */
  analyze(db: Kysely<Database>, table: keyof Database): Promise<void>;
  readonly statsSql: StatsSql;
}
