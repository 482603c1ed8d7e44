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
const WRITE_SECONDS = 5;
const ROUNDS = 2;

export interface EventsBenchResult {
  deliveriesPerSecond: number;
  createSessionWithoutEndpoint: number;
  createSessionWithEndpoint: number;
  /** How much slower a session write is with one endpoint subscribed to every event, its deliveries sent by the same process. */
  outboxCostPercent: number;
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
 * Webhooks (SPEC §11): how many deliveries a second one process sends to a local receiver, and what
 * an endpoint subscribed to every event costs a session write (creating sessions for 5 s without
 * and with one, alternately, twice each).
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

      const create = async () => {
        const result = await autocannon({
          url: `${server.url}/api/v1/coaching/sessions`,
          connections: 10,
          duration: WRITE_SECONDS,
          requests: [
            {
              method: 'POST',
              headers: { apiToken: org.token, 'content-type': 'application/json' },
              body: JSON.stringify({ coachingFormName: 'Load', agentId, meetingFormat: 'live' }),
            },
          ],
        });
        return result['2xx'] / result.duration;
      };
      const without: number[] = [];
      const withEndpoint: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        without.push(await create());
        const hook = await api(server.url, org.token, 'POST', '/api/v1/webhooks', { url: `${sink.url}/all`, events: ['*'] });
        withEndpoint.push(await create());
        await api(server.url, org.token, 'DELETE', `/api/v1/webhooks/${String(hook?.id)}`);
      }
      const a = without.reduce((x, y) => x + y) / ROUNDS;
      const b = withEndpoint.reduce((x, y) => x + y) / ROUNDS;
      return {
        deliveriesPerSecond,
        createSessionWithoutEndpoint: Math.round(a),
        createSessionWithEndpoint: Math.round(b),
        outboxCostPercent: Number(((1 - b / a) * 100).toFixed(1)),
      };
    } finally {
      await server.stop();
    }
  } finally {
    await sink.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function eventsRows(r: EventsBenchResult): Array<[string, string, string, string]> {
  return [
    ['webhook deliveries, one process, local receiver', `${r.deliveriesPerSecond}/s`, '', ''],
    [
      'session write with an endpoint on every event',
      `${r.createSessionWithEndpoint} vs ${r.createSessionWithoutEndpoint} req/s (${r.outboxCostPercent}% slower)`,
      '< 10% slower',
      r.outboxCostPercent < 10 ? 'met' : 'NOT met',
    ],
  ];
}
