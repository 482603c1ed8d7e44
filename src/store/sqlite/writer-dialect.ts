import { setTimeout as sleep } from 'node:timers/promises';
import type BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, type DatabaseConnection, type QueryResult, SqliteDialect, SqliteDriver, type TransactionSettings } from 'kysely';
import { StatementCache } from './statement-cache.js';

/** How long a statement waits for another process's write lock before it fails with SQLITE_BUSY (a 503). */
export const WRITE_LOCK_WAIT_MS = 5000;
/** The first pause between two tries for the lock, doubled up to the last. */
const FIRST_PAUSE_MS = 2;
const LAST_PAUSE_MS = 100;

export function isBusy(error: unknown): boolean {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * `attempt`, tried again after `pause` for as long as it finds the write lock busy and `mayWait`, for
 * up to `waitMs`; then its busy error is thrown.
 */
async function whileBusy<T>(attempt: () => T, waitMs: number, pause: (ms: number) => Promise<void>, mayWait = () => true): Promise<T> {
  const deadline = performance.now() + waitMs;
  for (let ms = FIRST_PAUSE_MS; ; ms = Math.min(LAST_PAUSE_MS, ms * 2)) {
    try {
      return attempt();
    } catch (error) {
      if (!isBusy(error) || !mayWait() || performance.now() >= deadline) throw error;
    }
    await pause(ms);
  }
}

/**
 * Begins an immediate transaction on `db`, waiting for another process's write lock as the writer's
 * statements do, but keeping the connection meanwhile: a bulk import has set its pragmas already.
 */
export function beginImmediate(db: BetterSqlite3.Database, waitMs = WRITE_LOCK_WAIT_MS): Promise<void> {
  return whileBusy(
    () => void db.exec('begin immediate'),
    waitMs,
    (ms) => sleep(ms),
  );
}

/**
 * Kysely's dialect for the store's writer connection, which waits for another process's write lock
 * (the command line's `coachport import` holds it until it commits) without blocking the event loop.
 * With SQLite's own `busy_timeout`, better-sqlite3 waited inside the statement, on the event loop:
 * every write tried during an import stopped the whole server for 5 s, `/healthz` and the exports
 * with it. Here the connection's `busy_timeout` is 0, a transaction begins `immediate` (it takes the
 * write lock at once, so a busy lock is found before it has read or written anything) unless it
 * was begun read-only (then deferred: in WAL mode it reads without the lock), and a
 * statement outside a transaction that finds the lock busy is tried again after a pause, for up to
 * WRITE_LOCK_WAIT_MS. While it pauses it gives the connection back, so this process's other
 * statements, its reads among them, go on meanwhile.
 */
export class WriterDialect extends SqliteDialect {
  constructor(
    private readonly writer: BetterSqlite3.Database,
    private readonly waitMs = WRITE_LOCK_WAIT_MS,
  ) {
    // The configuration Kysely's own driver would use; WriterDriver keeps its own connection.
    super({ database: writer });
  }

  override createDriver(): SqliteDriver {
    return new WriterDriver(this.writer, this.waitMs);
  }
}

/** SQLite's driver with its one connection waiting as above; the rest (commit, savepoints) is Kysely's. */
class WriterDriver extends SqliteDriver {
  private readonly turn = new Turn();
  private readonly connection: WriterConnection;

  constructor(
    private readonly writer: BetterSqlite3.Database,
    waitMs: number,
  ) {
    super({ database: writer });
    this.connection = new WriterConnection(writer, this.turn, waitMs);
  }

  override async init(): Promise<void> {
    this.writer.pragma('busy_timeout = 0');
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    await this.turn.take();
    return this.connection;
  }

  override async releaseConnection(): Promise<void> {
    this.turn.give();
  }

  /** A read-only transaction begins deferred: in WAL mode it then never needs the write lock. */
  override async beginTransaction(connection: DatabaseConnection, settings?: TransactionSettings): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(settings?.accessMode === 'read only' ? 'begin' : 'begin immediate'));
  }

  override async destroy(): Promise<void> {
    this.writer.close();
  }
}

class WriterConnection implements DatabaseConnection {
  private readonly statements: StatementCache;

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly turn: Turn,
    private readonly waitMs: number,
  ) {
    this.statements = new StatementCache(db);
  }

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const pause = async (ms: number) => {
      this.turn.give();
      await sleep(ms);
      await this.turn.take();
    };
    // Inside a transaction the lock is this connection's already (begin immediate).
    return whileBusy(
      () => this.run<R>(query),
      this.waitMs,
      pause,
      () => !this.db.inTransaction,
    );
  }

  private run<R>({ sql, parameters }: CompiledQuery): QueryResult<R> {
    const statement = this.statements.prepare(sql);
    if (statement.reader) return { rows: statement.all(parameters) as R[] };
    const { changes, lastInsertRowid } = statement.run(parameters);
    return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
  }

  // biome-ignore lint/correctness/useYield: the writer never streams (exports read through connections of their own).
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('The writer connection does not stream queries.');
  }
}

/** Whose turn it is on the one connection: each taker waits for the ones before it. */
class Turn {
  private last: Promise<void> = Promise.resolve();
  private release: (() => void) | null = null;

  async take(): Promise<void> {
    const before = this.last;
    let release!: () => void;
    this.last = new Promise((resolve) => (release = resolve));
    await before;
    this.release = release;
  }

  give(): void {
    const release = this.release;
    this.release = null;
    release?.();
  }
}
