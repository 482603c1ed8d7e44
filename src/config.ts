import os from 'node:os';
import path from 'node:path';
import { PASSWORD_COST, type ScryptCost } from './accounts/passwords.js';
import { DEFAULT_RETRY_SCHEDULE } from './webhooks/retry.js';

export interface BucketLimits {
  perSecond: number;
  perMinute: number;
}

/** Limits that also look back an hour, for slow guessing that per-minute limits alone would let through. */
export interface HourLimits extends BucketLimits {
  perHour?: number;
}

export type DatabaseConfig =
  | {
      kind: 'sqlite';
      file: string;
      synchronous?: 'NORMAL' | 'FULL';
      /** Worker threads that read SQLite exports (SQLITE_EXPORT_THREADS, default defaultExportThreads()); 0: on the event loop. */
      exportThreads?: number;
      /** Whether exports read the file through a memory map (SQLITE_EXPORT_MMAP, default false; document-pages.ts). */
      exportMmap?: boolean;
      /** Whether the days exported are kept joined for the next export (SQLITE_EXPORT_DAY_PAGES, default true; day-page-builder.ts). */
      exportDayPages?: boolean;
    }
  | { kind: 'postgres'; url: string };

export interface Config {
  port: number;
  host: string;
  database: DatabaseConfig;
  redisUrl: string | null;
  /** Put before every Redis key, so several deployments (or test runs) can share one Redis. */
  redisKeyPrefix: string;
  limits: {
    export: BucketLimits;
    api: BucketLimits;
    /** The change feed (SPEC §7), per organization. */
    feed: BucketLimits;
    /** Failed authentications per client IP, of tokens not known to be good (the per-address ceiling). */
    authFailures: BucketLimits;
    /**
     * Failed sign-ins at one account (email) from addresses not known for it (no successful sign-in
     * there within 30 days): the ceiling on guessing one account from many addresses.
     */
    signInPerAccount: HourLimits;
    /** Failed sign-ins at one account from one address; kept below `signInPerAccount`, so one address never reaches that ceiling. */
    signInPerAccountAddress: HourLimits;
    /** Failed authentications of one presented token from one client IP. */
    authFailuresPerToken: BucketLimits;
  };
  /** Where people reach the console: invite links are built from it, and cookies are Secure when it is https. */
  publicUrl: string;
  /**
   * Whether X-Forwarded-For names the client: false (default), true (trust any proxy), or the
   * proxies' addresses as Fastify's trustProxy takes them ("127.0.0.1,10.0.0.0/8", "loopback").
   */
  trustProxy: boolean | string;
  bodyLimitBytes: number;
  importBodyLimitBytes: number;
  logLevel: string;
  shutdownTimeoutMs: number;
  corsOrigin: string | null;
  /** When set, GET /metrics requires `Authorization: Bearer <metricsToken>`. */
  metricsToken: string | null;
  /** Key of the change feed's cursors' MAC; null: a random key kept in the database (feed/cursor-secret.ts). */
  feedCursorSecret: string | null;
  /** The scrypt cost of new password hashes (no environment variable: production is always N = 2^17; tests may lower it). */
  passwordCost: ScryptCost;
  /** Exports one process streams at once (EXPORT_CONCURRENCY); beyond it, 503 with Retry-After. */
  exportConcurrency: number;
  /** An export whose client takes no byte for this long is cut (EXPORT_STALL_TIMEOUT_MS). */
  exportStallTimeoutMs: number;
  /** Whether an organization may save an http:// OpenID issuer (OIDC_ALLOW_HTTP=true): labs and tests only. */
  oidcAllowHttp: boolean;
  /** Events out (SPEC §11). */
  events: EventsConfig;
}

export interface EventsConfig {
  /** A webhook answer later than this is a failure (WEBHOOK_TIMEOUT_MS). */
  webhookTimeoutMs: number;
  /** Seconds to wait after each failed attempt, one per retry (WEBHOOK_RETRY_SCHEDULE). */
  retryScheduleSeconds: number[];
  /** Whether webhooks may go to loopback and private addresses (WEBHOOK_ALLOW_PRIVATE=true): labs and tests. */
  allowPrivate: boolean;
  /** Where mail goes out (SMTP_URL, smtp:// or smtps://); null: no mail is queued. */
  smtpUrl: string | null;
  /** The From of every mail (MAIL_FROM). */
  mailFrom: string;
  /** How often an idle worker looks for due deliveries (DELIVERY_POLL_MS). */
  pollMs: number;
  /** Days events and the delivery log are kept (EVENT_RETENTION_DAYS); an event a queued delivery needs stays. */
  retentionDays: number;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function positiveInt(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`${name} must be a positive whole number, got "${raw}".`);
  }
  return value;
}

function booleanFlag(env: Env, name: string): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}".`);
}

/**
 * One export thread where there is a second core for it: the pages are read there while the event
 * loop writes the ones before them, which leaves the event loop about 40 ms of an export's 135 ms
 * of CPU per 93.5 MB (docs/performance.md, "SQLite export threads"). On one core the two would only
 * take turns.
 */
export const defaultExportThreads = (): number => (os.availableParallelism() > 1 ? 1 : 0);

/** SQLITE_EXPORT_THREADS as set, or the default when it is not. */
export function exportThreadsFrom(raw: string | undefined): number {
  const threads = raw === undefined || raw.trim() === '' ? defaultExportThreads() : Number(raw);
  if (!Number.isInteger(threads) || threads < 0 || threads > 64) {
    throw new ConfigError(`SQLITE_EXPORT_THREADS must be a whole number from 0 to 64, got "${raw}".`);
  }
  return threads;
}

/** A switch set by 1 or true and 0 or false, `unset` when it is not (SQLITE_EXPORT_MMAP, SQLITE_EXPORT_DAY_PAGES). */
function switchFrom(env: Env, name: string, unset: boolean): boolean {
  const raw = env[name];
  const value = raw?.trim().toLowerCase() ?? '';
  if (value === '') return unset;
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  throw new ConfigError(`${name} must be 1 or 0 (true or false), got "${raw}".`);
}

function databaseFrom(env: Env, cwd: string): DatabaseConfig {
  const { DATABASE_URL: raw, SQLITE_SYNCHRONOUS: synchronousRaw } = env;
  if (raw !== undefined && /^postgres(ql)?:\/\//i.test(raw)) return { kind: 'postgres', url: raw };
  const synchronous = (synchronousRaw?.trim().toUpperCase() || 'NORMAL') as 'NORMAL' | 'FULL';
  if (synchronous !== 'NORMAL' && synchronous !== 'FULL') {
    throw new ConfigError(`SQLITE_SYNCHRONOUS must be NORMAL or FULL, got "${synchronousRaw}".`);
  }
  const file = raw === undefined || raw.trim() === '' ? path.join('data', 'coachport.db') : raw.replace(/^(sqlite|file):(\/\/)?/i, '');
  return {
    kind: 'sqlite',
    file: path.resolve(cwd, file),
    synchronous,
    exportThreads: exportThreadsFrom(env.SQLITE_EXPORT_THREADS),
    exportMmap: switchFrom(env, 'SQLITE_EXPORT_MMAP', false),
    exportDayPages: switchFrom(env, 'SQLITE_EXPORT_DAY_PAGES', true),
  };
}

function trustProxyFrom(raw: string | undefined): Config['trustProxy'] {
  if (raw === undefined || raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  return raw;
}

function publicUrlFrom(raw: string | undefined, host: string, port: number): string {
  const value = raw?.trim() || `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(`PUBLIC_URL must be an absolute http or https URL, got "${raw}".`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(`PUBLIC_URL must be an absolute http or https URL, got "${raw}".`);
  }
  return value.replace(/\/+$/, '');
}

/** The only place that reads the environment; everything else receives a Config. */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  return {
    port: positiveInt(env, 'PORT', 3000),
    host: env.HOST?.trim() || '127.0.0.1',
    database: databaseFrom(env, cwd),
    redisUrl: env.REDIS_URL?.trim() || null,
    redisKeyPrefix: env.REDIS_KEY_PREFIX?.trim() || 'coachport:rl:',
    limits: {
      export: {
        perSecond: positiveInt(env, 'RATE_LIMIT_EXPORT_PER_SECOND', 1),
        perMinute: positiveInt(env, 'RATE_LIMIT_EXPORT_PER_MINUTE', 30),
      },
      api: {
        perSecond: positiveInt(env, 'RATE_LIMIT_API_PER_SECOND', 20),
        perMinute: positiveInt(env, 'RATE_LIMIT_API_PER_MINUTE', 600),
      },
      feed: {
        perSecond: positiveInt(env, 'RATE_LIMIT_FEED_PER_SECOND', 5),
        perMinute: positiveInt(env, 'RATE_LIMIT_FEED_PER_MINUTE', 120),
      },
      authFailures: {
        perSecond: positiveInt(env, 'RATE_LIMIT_AUTH_FAILURES_PER_SECOND', 5),
        perMinute: positiveInt(env, 'RATE_LIMIT_AUTH_FAILURES_PER_MINUTE', 20),
      },
      signInPerAccount: {
        perSecond: positiveInt(env, 'RATE_LIMIT_SIGN_IN_PER_ACCOUNT_PER_SECOND', 2),
        perMinute: positiveInt(env, 'RATE_LIMIT_SIGN_IN_PER_ACCOUNT_PER_MINUTE', 10),
        perHour: positiveInt(env, 'RATE_LIMIT_SIGN_IN_PER_ACCOUNT_PER_HOUR', 100),
      },
      signInPerAccountAddress: {
        perSecond: positiveInt(env, 'RATE_LIMIT_SIGN_IN_PER_ACCOUNT_ADDRESS_PER_SECOND', 1),
        perMinute: positiveInt(env, 'RATE_LIMIT_SIGN_IN_PER_ACCOUNT_ADDRESS_PER_MINUTE', 5),
        perHour: positiveInt(env, 'RATE_LIMIT_SIGN_IN_PER_ACCOUNT_ADDRESS_PER_HOUR', 20),
      },
      authFailuresPerToken: {
        perSecond: positiveInt(env, 'RATE_LIMIT_AUTH_FAILURES_PER_TOKEN_PER_SECOND', 3),
        perMinute: positiveInt(env, 'RATE_LIMIT_AUTH_FAILURES_PER_TOKEN_PER_MINUTE', 10),
      },
    },
    publicUrl: publicUrlFrom(env.PUBLIC_URL, env.HOST?.trim() || '127.0.0.1', positiveInt(env, 'PORT', 3000)),
    trustProxy: trustProxyFrom(env.TRUST_PROXY?.trim()),
    bodyLimitBytes: positiveInt(env, 'BODY_LIMIT_BYTES', 1024 * 1024),
    importBodyLimitBytes: positiveInt(env, 'IMPORT_BODY_LIMIT_BYTES', 64 * 1024 * 1024),
    logLevel: env.LOG_LEVEL?.trim() || 'info',
    shutdownTimeoutMs: positiveInt(env, 'SHUTDOWN_TIMEOUT_MS', 30_000),
    corsOrigin: env.CORS_ORIGIN?.trim() || null,
    metricsToken: env.METRICS_TOKEN?.trim() || null,
    feedCursorSecret: env.FEED_CURSOR_SECRET?.trim() || null,
    passwordCost: PASSWORD_COST,
    exportConcurrency: positiveInt(env, 'EXPORT_CONCURRENCY', 16),
    exportStallTimeoutMs: positiveInt(env, 'EXPORT_STALL_TIMEOUT_MS', 60_000),
    oidcAllowHttp: booleanFlag(env, 'OIDC_ALLOW_HTTP'),
    events: eventsFrom(env),
  };
}

function retryScheduleFrom(raw: string | undefined): number[] {
  if (raw === undefined || raw.trim() === '') return DEFAULT_RETRY_SCHEDULE;
  const values = raw.split(',').map((part) => Number(part.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v <= 0)) {
    throw new ConfigError(`WEBHOOK_RETRY_SCHEDULE must be positive whole seconds separated by commas, got "${raw}".`);
  }
  return values;
}

function smtpUrlFrom(raw: string | undefined): string | null {
  const value = raw?.trim();
  if (!value) return null;
  if (!/^smtps?:\/\/[^/]/i.test(value)) throw new ConfigError('SMTP_URL must be smtp://user:pass@host:port or smtps://…');
  return value;
}

function eventsFrom(env: Env): EventsConfig {
  return {
    webhookTimeoutMs: positiveInt(env, 'WEBHOOK_TIMEOUT_MS', 15_000),
    retryScheduleSeconds: retryScheduleFrom(env.WEBHOOK_RETRY_SCHEDULE),
    allowPrivate: booleanFlag(env, 'WEBHOOK_ALLOW_PRIVATE'),
    smtpUrl: smtpUrlFrom(env.SMTP_URL),
    mailFrom: env.MAIL_FROM?.trim() || 'Coachport <coachport@localhost>',
    pollMs: positiveInt(env, 'DELIVERY_POLL_MS', 1000),
    retentionDays: positiveInt(env, 'EVENT_RETENTION_DAYS', 30),
  };
}
