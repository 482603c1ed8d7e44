import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createSession } from '../src/coaching/sessions.js';
import { DeliveryWorker } from '../src/events/delivery-worker.js';
import { AppMetrics } from '../src/http/metrics.js';
import { createLogger } from '../src/logger.js';
import { storeBackends } from './helpers/backends.js';
import { ManualClock } from './helpers/clock.js';
import { eventually, pollUntil } from './helpers/deadline.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { WebhookReceiver } from './helpers/webhook-receiver.js';

/** Deliveries one destination has in flight at most (SHARE in src/events/delivery-worker.ts). */
const PER_DESTINATION = 32;

for (const backend of await storeBackends()) {
  describe(`webhook delivery, one receiver hanging (${backend.name})`, () => {
    let server: TestServer;
    let receiver: WebhookReceiver;

    before(async () => {
      receiver = await new WebhookReceiver().start();
      server = await startTestServer({
        backend,
        clock: new ManualClock(Date.now()),
        // A timeout far past the test: the hanging receiver's requests stay open until it releases them.
        configure: (c) => ({ ...c, events: { ...c.events, allowPrivate: true, pollMs: 25, webhookTimeoutMs: 60_000 } }),
      });
    });
    after(async () => {
      if (receiver) receiver.answer = () => ({ status: 200 });
      receiver?.release();
      await server?.close();
      await receiver?.close();
    });

    async function hookedOrg(name: string, path: string) {
      const admin = await server.createOrg(name);
      const agent = await server.addUser(admin.orgId, 'agent');
      const hook = await server.request('POST', '/api/v1/webhooks', {
        token: admin.token,
        body: { url: `${receiver.url}${path}`, events: ['session.created'] },
      });
      assert.equal(hook.status, 201, hook.text);
      const newSession = async () => {
        const created = await server.request('POST', '/api/v1/coaching/sessions', {
          token: admin.token,
          body: { coachingFormName: `${name} review`, agentId: agent.userId },
        });
        assert.equal(created.status, 201, created.text);
      };
      return { admin, hookId: hook.json.id as string, newSession };
    }

    it("sends another organization's event while a receiver holds its own deliveries, no more than its share", async () => {
      receiver.answer = ({ path }) => (path === '/hanging' ? { status: 200, held: true } : { status: 204 });
      const hanging = await hookedOrg('Hanging', '/hanging');
      // Fewer than the delivery log's first page (50), which the test reads whole.
      const queued = PER_DESTINATION + 8;
      for (let i = 0; i < queued; i++) await hanging.newSession();
      await pollUntil(() => receiver.holding === PER_DESTINATION, `${PER_DESTINATION} requests held`);

      const quick = await hookedOrg('Quick', '/quick');
      await quick.newSession();
      await pollUntil(() => receiver.received.some((r) => r.path === '/quick'), "the other organization's event");
      // Sent while every one of the hanging receiver's requests is still open, none answered.
      assert.equal(receiver.holding, PER_DESTINATION);
      assert.equal(receiver.received.filter((r) => r.path === '/hanging').length, PER_DESTINATION, 'no more sent to it meanwhile');

      // Once it answers, the rest of its queue follows, a share at a time.
      receiver.answer = () => ({ status: 200 });
      receiver.release();
      await pollUntil(() => receiver.received.filter((r) => r.path === '/hanging').length === queued, 'the whole queue');
      const log = await eventually(
        async () => (await server.request('GET', `/api/v1/webhooks/${hanging.hookId}/deliveries`, { token: hanging.admin.token })).json,
        (l) => l.deliveries.length === queued,
        'every attempt logged',
      );
      assert.ok(log.deliveries.every((d: { statusCode: number }) => d.statusCode === 200));
      assert.equal(new Set(receiver.received.filter((r) => r.path === '/hanging').map((r) => r.id)).size, queued, 'each event once');
    });
  });
}

for (const backend of await storeBackends()) {
  describe(`webhook delivery, stopping with deliveries waiting for a slot (${backend.name})`, () => {
    let server: TestServer;
    let receiver: WebhookReceiver;

    before(async () => {
      receiver = await new WebhookReceiver().start();
      // The server's own worker finds nothing at start and then sleeps: the test's workers send.
      server = await startTestServer({
        backend,
        clock: new ManualClock(Date.now()),
        configure: (c) => ({ ...c, events: { ...c.events, allowPrivate: true, pollMs: 3_600_000 } }),
      });
    });
    after(async () => {
      if (receiver) receiver.answer = () => ({ status: 200 });
      receiver?.release();
      await server?.close();
      await receiver?.close();
    });

    const worker = () =>
      new DeliveryWorker({
        store: server.store,
        config: { ...server.config.events, pollMs: 25, webhookTimeoutMs: 60_000 },
        publicUrl: server.url,
        clock: server.clock,
        logger: createLogger('silent'),
        metrics: new AppMetrics({ poolStats: () => server.store.poolStats() }),
        mailer: null,
      });

    it('hands the waiting ones back at once, for another process to send', async () => {
      receiver.answer = () => ({ status: 200, held: true });
      const admin = await server.createOrg('Stopping');
      const agentId = (await server.addUser(admin.orgId, 'agent')).userId;
      const hook = await server.request('POST', '/api/v1/webhooks', {
        token: admin.token,
        body: { url: `${receiver.url}/held`, events: ['session.created'] },
      });
      assert.equal(hook.status, 201, hook.text);
      const actor = { orgId: admin.orgId, user: (await server.store.getUser(admin.orgId, admin.userId))!, ipAddress: null };
      const later = server.clock.now() + 60_000;
      await createSession(server.store, actor, { coachingFormName: 'First', agentId }, server.clock.now());

      const first = worker();
      first.start();
      await pollUntil(() => receiver.holding === 1, 'the first delivery held');
      // Due a minute ahead: one claim brings them all at once, more than the endpoint's free slots.
      const queued = PER_DESTINATION + 4;
      for (let i = 0; i < queued; i++) await createSession(server.store, actor, { coachingFormName: `Queued ${i}`, agentId }, later);
      server.clock.set(later);
      await pollUntil(() => receiver.holding === PER_DESTINATION, 'the endpoint full');

      // Stopping: the one waiting for a slot goes back to the queue while the others are still held.
      const stopping = first.stop();
      const second = worker();
      second.start();
      await pollUntil(() => receiver.holding === queued + 1, 'the rest sent by the next worker, the handed-back one too');
      receiver.answer = () => ({ status: 200 });
      receiver.release();
      await stopping;
      await second.stop();
      const log = await server.request('GET', `/api/v1/webhooks/${hook.json.id}/deliveries`, { token: admin.token });
      assert.equal(log.json.deliveries.length, queued + 1, 'each attempt logged, none for the handed-back one');
      assert.equal(new Set(receiver.received.map((r) => r.id)).size, queued + 1, 'each event sent once');
    });
  });
}
