import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { createOrganization } from '../src/accounts/organizations.js';
import { createSession } from '../src/coaching/sessions.js';
import type { DatabaseConfig } from '../src/config.js';
import { newId } from '../src/ids.js';
import { openStore } from '../src/store/open.js';
import { startServer } from './server.js';

/** Deliveries queued before the worker starts, for the delivery rate. */
const QUEUED = 3000;
const WRITE_SECONDS = 2;
const PAIRS = 20;

/** Sessions created a second without and with one endpoint subscribed to every event, and how much slower that is. */
export interface WriteCost {
  without: number;
  with: number;
  percent: number;
}

export interface EventsBenchResult {
  deliveriesPerSecond: number;
  /** The event and delivery rows in each write's transaction, nothing sent meanwhile. */
  rowsOnly: WriteCost;
  /** The same, with the same process sending the deliveries meanwhile. */
  sending: WriteCost;
}

/**
 * Creating sessions for 2 s without and then with an endpoint on every event, twenty times, the
 * order swapped each time (the database grows as the bench writes; swapping cancels that drift):
 * the medians of the rates and of the twenty pairs' differences, so a burst of noise on this shared
 * machine during one run moves the figure little.
 */
async function writeCost(url: string, token: string, agentId: string, sinkUrl: string): Promise<WriteCost> {
  const create = async () => {
    const result = await autocannon({
      url: `${url}/api/v1/coaching/sessions`,
      connections: 10,
      duration: WRITE_SECONDS,
      requests: [
        {
          method: 'POST',
          headers: { apiToken: token, 'content-type': 'application/json' },
          body: JSON.stringify({ coachingFormName: 'Load', agentId, meetingFormat: 'live' }),
        },
      ],
    });
    return result['2xx'] / result.duration;
  };
  const withHook = async () => {
    const hook = await api(url, token, 'POST', '/api/v1/webhooks', { url: `${sinkUrl}/all`, events: ['*'] });
    const rate = await create();
    await api(url, token, 'DELETE', `/api/v1/webhooks/${String(hook?.id)}`);
    return rate;
  };
  const pairs: Array<{ without: number; with: number }> = [];
  for (let pair = 0; pair < PAIRS; pair++) {
    if (pair % 2 === 1) {
      const withRate = await withHook();
      pairs.push({ with: withRate, without: await create() });
    } else {
      const without = await create();
      pairs.push({ without, with: await withHook() });
    }
  }
  return {
    without: Math.round(median(pairs.map((p) => p.without))),
    with: Math.round(median(pairs.map((p) => p.with))),
    percent: Number(median(pairs.map((p) => (1 - p.with / p.without) * 100)).toFixed(1)),
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return sorted.length % 2 === 1 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** A receiver that answers 204 at once and counts what it got. */
async function receiver(): Promise<{ url: string; count(): number; close(): Promise<void> }> {
  let count = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      count++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    count: () => count,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function api(url: string, token: string, method: string, pathName: string, body?: unknown) {
  const response = await fetch(`${url}${pathName}`, {
    method,
    headers: { apiToken: token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${pathName}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? null : ((await response.json()) as Record<string, unknown>);
}

const ENV = { WEBHOOK_ALLOW_PRIVATE: 'true', DELIVERY_POLL_MS: '50' };

/**
 * Webhooks (SPEC §11): how many deliveries a second one process sends to a local receiver; what an
 * endpoint subscribed to every event costs a session write, its rows alone (the worker asleep) and
 * with the same process sending meanwhile.
 */
export async function eventsBench(): Promise<EventsBenchResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coachport-bench-events-'));
  const database: DatabaseConfig = { kind: 'sqlite', file: path.join(dir, 'events.db') };
  const sink = await receiver();
  try {
    const now = Date.now();
    const store = await openStore(database);
    const org = await createOrganization(store, { name: 'Bench events', adminEmail: 'events@example.test' }, now);
    const agentId = newId(now);
    await store.createUser(org.orgId, { id: agentId, email: 'agent@example.test', name: 'Bench Agent', role: 'agent' }, now);
    const admin = (await store.getUser(org.orgId, org.userId))!;
    await store.webhooks(org.orgId, (tx) =>
      tx.insertEndpoint(
        {
          id: newId(now),
          url: `${sink.url}/queued`,
          description: null,
          events: ['session.created'],
          active: true,
          disabledReason: null,
          createdAt: now,
          updatedAt: now,
        },
        'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      ),
    );
    const actor = { orgId: org.orgId, user: admin, ipAddress: null };
    for (let i = 0; i < QUEUED; i++) await createSession(store, actor, { coachingFormName: `Queued ${i}`, agentId }, now);
    await store.close();

    const server = await startServer(database, ENV);
    try {
      const started = performance.now();
      while (sink.count() < QUEUED) await new Promise((resolve) => setTimeout(resolve, 20));
      const deliveriesPerSecond = Math.round(QUEUED / ((performance.now() - started) / 1000));
      const hooks = (await api(server.url, org.token, 'GET', '/api/v1/webhooks')) as unknown as Array<{ id: string }>;
      for (const hook of hooks) await api(server.url, org.token, 'DELETE', `/api/v1/webhooks/${hook.id}`);

      const sending = await writeCost(server.url, org.token, agentId, sink.url);
      await server.stop();
      // The same writes with the worker asleep (it looks once at start, finds nothing due, and waits
      // an hour): what the event rows cost the write itself, apart from sending them.
      const quietServer = await startServer(database, { ...ENV, DELIVERY_POLL_MS: '3600000' });
      try {
        const rowsOnly = await writeCost(quietServer.url, org.token, agentId, sink.url);
        return { deliveriesPerSecond, rowsOnly, sending };
      } finally {
        await quietServer.stop();
      }
    } finally {
      if (server.child.exitCode === null && server.child.signalCode === null) await server.stop();
    }
  } finally {
    await sink.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function eventsRows(r: EventsBenchResult): Array<[string, string, string, string]> {
  const figure = (c: WriteCost) => `${c.with} vs ${c.without} req/s (${c.percent}% slower)`;
  return [
    ['webhook deliveries, one process, local receiver', `${r.deliveriesPerSecond}/s`, '', ''],
    [
      'session write: the outbox rows of an endpoint on every event',
      figure(r.rowsOnly),
      '< 10% slower',
      r.rowsOnly.percent < 10 ? 'met' : 'NOT met',
    ],
    ['session write while the same process sends those events', figure(r.sending), '', ''],
  ];
}
