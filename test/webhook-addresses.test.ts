import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isPublicAddress } from '../src/webhooks/addresses.js';
import { nextAttemptAt, retryAfterMs } from '../src/webhooks/retry.js';
import { ManualClock } from './helpers/clock.js';
import { eventually } from './helpers/deadline.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { WebhookReceiver } from './helpers/webhook-receiver.js';

describe('what a webhook may reach', () => {
  it('tells public addresses from loopback, private, link-local and reserved ones', () => {
    const notPublic = [
      '127.0.0.1',
      '127.8.9.10',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '198.18.0.1',
      '::1',
      '::',
      'fe80::1',
      'fc00::1',
      'fd12:3456::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:10.0.0.1',
      '2001:db8::1',
      '::7f00:1',
      '::a00:1',
      '::ffff:0:7f00:1',
      '3fff::1',
      '5f00::1',
      'ff02::1',
      'not an address',
    ];
    const isPublic = ['93.184.216.34', '8.8.8.8', '172.32.0.1', '192.169.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'];
    for (const address of notPublic) assert.equal(isPublicAddress(address), false, address);
    for (const address of isPublic) assert.equal(isPublicAddress(address), true, address);
  });
});

describe('retry schedule', () => {
  const schedule = [5, 300, 1800];
  it('waits each step of the schedule with ±10% jitter, then gives up', () => {
    const waits = [1, 2, 3].map((attempts) => [0, 0.5, 0.999999].map((r) => nextAttemptAt(attempts, 0, schedule, () => r)));
    assert.deepEqual(waits, [
      [4500, 5000, 5500],
      [270_000, 300_000, 330_000],
      [1_620_000, 1_800_000, 1_980_000],
    ]);
    assert.equal(
      nextAttemptAt(4, 0, schedule, () => 0.5),
      null,
      'the schedule is spent after 1 + 3 attempts',
    );
    assert.equal(
      nextAttemptAt(4, 0, schedule, () => 0.5, 10_000),
      null,
      'a Retry-After does not extend it',
    );
  });

  it('reads Retry-After as seconds or a date, bounded to a second and a day', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(retryAfterMs('120', now), 120_000);
    assert.equal(retryAfterMs('Thu, 01 Jan 2026 00:01:00 GMT', now), 60_000);
    assert.equal(retryAfterMs('soon', now), null);
    assert.equal(retryAfterMs(undefined, now), null);
    assert.equal(
      nextAttemptAt(1, now, schedule, () => 0.5, 0),
      now + 1000,
    );
    assert.equal(
      nextAttemptAt(1, now, schedule, () => 0.5, 7 * 86_400_000),
      now + 86_400_000,
    );
  });
});

describe('webhook addresses without WEBHOOK_ALLOW_PRIVATE', () => {
  let server: TestServer;
  let receiver: WebhookReceiver;
  let admin: { orgId: string; userId: string; token: string };
  let agent: { userId: string };
  /** What the fake DNS answers for hooks.example.test: DNS is the one part a test cannot arrange for real. */
  let answer = '93.184.216.34';

  before(async () => {
    receiver = await new WebhookReceiver().start();
    server = await startTestServer({
      clock: new ManualClock(Date.now()),
      configure: (c) => ({ ...c, events: { ...c.events, allowPrivate: false, pollMs: 25 } }),
      resolveHost: async (hostname) => {
        if (hostname === 'hooks.example.test') return [{ address: answer, family: 4 }];
        if (hostname === 'localhost') return [{ address: '127.0.0.1', family: 4 }];
        throw new Error(`ENOTFOUND ${hostname}`);
      },
    });
    admin = await server.createOrg('Guarded');
    agent = await server.addUser(admin.orgId, 'agent');
  });
  after(async () => {
    await server?.close();
    await receiver?.close();
  });

  it('refuses private and loopback addresses at save, and names that resolve to them', async () => {
    const port = new URL(receiver.url).port;
    for (const url of [
      receiver.url,
      `http://10.0.0.8/hook`,
      `http://[::1]:${port}/hook`,
      `http://169.254.169.254/latest/meta-data`,
      `http://[::ffff:127.0.0.1]:${port}/`,
      `http://localhost:${port}/hook`,
      `http://0x7f000001:${port}/hook`,
    ]) {
      const reply = await server.request('POST', '/api/v1/webhooks', { token: admin.token, body: { url, events: ['*'] } });
      assert.equal(reply.status, 400, url);
      assert.match(reply.json.error, /not a public address/, url);
    }
    const unknown = await server.request('POST', '/api/v1/webhooks', {
      token: admin.token,
      body: { url: 'https://nowhere.test/x', events: ['*'] },
    });
    assert.equal(unknown.status, 400);
    assert.match(unknown.json.error, /could not be resolved/);
    assert.deepEqual((await server.request('GET', '/api/v1/webhooks', { token: admin.token })).json, []);
  });

  it('refuses at send a name that has come to resolve to a loopback address', async () => {
    answer = '93.184.216.34';
    const port = new URL(receiver.url).port;
    const saved = await server.request('POST', '/api/v1/webhooks', {
      token: admin.token,
      body: { url: `http://hooks.example.test:${port}/rebound`, events: ['session.created'] },
    });
    assert.equal(saved.status, 201, saved.text);
    // The name now points at the machine itself, where the receiver listens.
    answer = '127.0.0.1';
    const created = await server.request('POST', '/api/v1/coaching/sessions', {
      token: admin.token,
      body: { coachingFormName: 'Rebinding', agentId: agent.userId },
    });
    assert.equal(created.status, 201);
    const log = await eventually(
      async () => (await server.request('GET', `/api/v1/webhooks/${saved.json.id}/deliveries`, { token: admin.token })).json,
      (page) => page.deliveries.length > 0,
      'the refused attempt',
    );
    assert.equal(log.deliveries.length, 1);
    assert.equal(log.deliveries[0].statusCode, null);
    assert.match(log.deliveries[0].error, /resolves to 127\.0\.0\.1, which is not a public address/);
    assert.equal(receiver.received.length, 0, 'no connection reached the receiver');
    const metrics = await server.request('GET', '/metrics');
    assert.match(metrics.text, /coachport_webhook_deliveries_total\{outcome="refused"\} 1/);
  });
});
