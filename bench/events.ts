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
const WRITE_SECONDS = 4;
const ROUNDS = 4;

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
 * Creating sessions for 4 s without and with an endpoint on every event, four times each, in the
 * order without-with, with-without, …: the database grows as the bench writes, and the alternating
 * order cancels that drift, which a fixed order counted against the endpoint.
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
  let without = 0;
  let withEndpoint = 0;
  const withHook = async () => {
    const hook = await api(url, token, 'POST', '/api/v1/webhooks', { url: `${sinkUrl}/all`, events: ['*'] });
    withEndpoint += (await create()) / ROUNDS;
    await api(url, token, 'DELETE', `/api/v1/webhooks/${String(hook?.id)}`);
  };
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 1) await withHook();
    without += (await create()) / ROUNDS;
    if (round % 2 === 0) await withHook();
  }
  return { without: Math.round(without), with: Math.round(withEndpoint), percent: Number(((1 - withEndpoint / without) * 100).toFixed(1)) };
}

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
