import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { createOrganization } from '../../src/accounts/organizations.js';
import { issueToken } from '../../src/accounts/tokens.js';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { newId } from '../../src/ids.js';
import { createLogger } from '../../src/logger.js';
import { MemoryRateLimiter } from '../../src/ratelimit/memory.js';
import type { RateLimiter } from '../../src/ratelimit/limiter.js';
import type { Role } from '../../src/accounts/roles.js';
import { openStore } from '../../src/store/open.js';
import type { StoreOpenOptions } from '../../src/store/read-model-version.js';
import type { Store } from '../../src/store/store.js';
import type { ResolveHost } from '../../src/webhooks/addresses.js';
import { sqliteBackend, type Backend, type TestDatabase } from './backends.js';
import { ManualClock } from './clock.js';
import { session } from './fixtures.js';

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export interface TestServer {
  url: string;
  app: FastifyInstance;
  store: Store;
  clock: ManualClock;
  config: Config;
  logs: string[];
  close(): Promise<void>;
  createOrg(name?: string): Promise<{ orgId: string; userId: string; token: string }>;
  addUser(orgId: string, role: Role, name?: string): Promise<{ userId: string; email: string; token: string }>;
  request(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<Reply>;
  exportSessions(token: string, body: unknown): Promise<Reply>;
}

/** The SQLite file of a test server, for the tests that open it beside the server; a test server on PostgreSQL is refused. */
export function sqliteFileOf(server: TestServer): string {
  const { database } = server.config;
  if (database.kind !== 'sqlite') throw new Error('this test needs SQLite');
  return database.file;
}

/** High enough that only the rate-limit tests, which set their own, ever meet a limit. */
export const GENEROUS = { perSecond: 100_000, perMinute: 1_000_000 };

/**
 * The scrypt cost of test servers' password hashes: production's N = 2^17 takes seconds per hash
 * on a busy test machine, and the suite makes hundreds. Tests about the cost set PASSWORD_COST.
 */
export const TEST_PASSWORD_COST = { N: 2 ** 14, r: 8, p: 1 };

export interface TestServerOptions {
  backend?: Backend;
  configure?: (config: Config) => Config;
  clock?: ManualClock;
  limiter?: RateLimiter;
  /** Listen on this port (known before start, for a PUBLIC_URL that must be the real address); a free one when absent. */
  port?: number;
  /** How webhook hosts resolve (DNS when absent). */
  resolveHost?: ResolveHost;
  /** How often the server splices the names imports left (every minute when absent). */
  namesLeftEveryMs?: number;
  /** More of the store's options (a shorter wait for SQLite's write lock). */
  store?: StoreOpenOptions;
}

/** A real server on a loopback port over a real, freshly made database. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const database: TestDatabase = await (options.backend ?? sqliteBackend).create();
  const base = loadConfig({}, process.cwd());
  const config = (options.configure ?? ((c) => c))({
    ...base,
    database: database.config,
    port: 1,
    limits: {
      ...base.limits,
      export: GENEROUS,
      api: GENEROUS,
      feed: GENEROUS,
      authFailures: GENEROUS,
      authFailuresPerToken: GENEROUS,
      signInPerAccount: GENEROUS,
      signInPerAccountAddress: GENEROUS,
    },
    passwordCost: TEST_PASSWORD_COST,
  });
  const clock = options.clock ?? new ManualClock();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger('info', sink);
  const store = await openStore(config.database, {
    mail: config.events.smtpUrl !== null,
    exportConnections: config.exportConcurrency,
    ...options.store,
  });
  const limiter = options.limiter ?? new MemoryRateLimiter(clock);
  const app = await buildApp({
    config,
    store,
    limiter,
    clock,
    logger,
    resolveHost: options.resolveHost,
    namesLeftEveryMs: options.namesLeftEveryMs,
  });
  const url = await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });

  async function request(
    method: string,
    path: string,
    opts: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ): Promise<Reply> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.token !== undefined) headers.apiToken = opts.token;
    let body: string | undefined = opts.raw;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(url + path, { method, headers, body });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  return {
    url,
    app,
    store,
    clock,
    config,
    logs,
    async close() {
      // As the server's own shutdown does (src/server.ts), but after 2 s: a test that walked away
      // from a response mid-body must not hold the suite for the keep-alive timeout.
      const timer = setTimeout(() => app.server.closeAllConnections(), 2_000);
      await app.close();
      clearTimeout(timer);
      await limiter.close();
      await store.close();
      await database.drop();
    },
    async createOrg(name = 'Acme') {
      return createOrganization(store, { name, adminEmail: `admin-${newId()}@example.test`, adminName: `${name} Admin` }, clock.now());
    },
    async addUser(orgId, role, name = `${role} ${newId().slice(-4)}`) {
      const userId = newId(clock.now());
      const email = `${role}-${userId}@example.test`;
      await store.createUser(orgId, { id: userId, email, name, role }, clock.now());
      const { secret } = await issueToken(store, { orgId, userId }, 90, clock.now());
      return { userId, email, token: secret };
    },
    request,
    exportSessions: (token, body) => request('POST', '/api/v1/coaching-sessions', { token, body }),
  };
}

/**
 * Imports `count` sessions a minute apart from `firstMs`, each with coach notes of about
 * `noteBytes`: an export of them that is large for its number of sessions.
 */
export async function importBulkySessions(
  server: TestServer,
  token: string,
  count: number,
  noteBytes: number,
  firstMs: number,
): Promise<void> {
  const notes = 'y'.repeat(noteBytes);
  const docs = Array.from({ length: count }, (_, i) =>
    session({ createdAt: new Date(firstMs + i * 60_000).toISOString(), coachNotes: `${i} ${notes}` }),
  );
  const reply = await server.request('POST', '/api/v1/coaching-sessions/import', { token, body: docs });
  assert.equal(reply.status, 200, reply.text);
}
