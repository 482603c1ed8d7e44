import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createSession } from '../src/coaching/sessions.js';
import { storeBackends } from './helpers/backends.js';
import { ManualClock } from './helpers/clock.js';
import { eventually, pollUntil } from './helpers/deadline.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { WebhookReceiver } from './helpers/webhook-receiver.js';

/** Deliveries one claim takes, and so one endpoint's in flight at most (CLAIM in src/events/delivery-worker.ts). */
const CLAIM = 32;

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
      const agentId = (await server.addUser(admin.orgId, 'agent')).userId;
      const hook = await server.request('POST', '/api/v1/webhooks', {
        token: admin.token,
        body: { url: `${receiver.url}${path}`, events: ['session.created'] },
      });
      assert.equal(hook.status, 201, hook.text);
      const actor = { orgId: admin.orgId, user: (await server.store.getUser(admin.orgId, admin.userId))!, ipAddress: null };
      /** A session whose event falls due at `at`. */
      const newSession = (at: number) => createSession(server.store, actor, { coachingFormName: `${name} review`, agentId }, at);
      return { admin, hookId: hook.json.id as string, newSession };
    }

    /** The endpoint's delivery log once it holds `count` attempts. */
    const attempts = (org: { admin: { token: string }; hookId: string }, count: number) =>
      eventually(
        async () => (await server.request('GET', `/api/v1/webhooks/${org.hookId}/deliveries`, { token: org.admin.token })).json,
        (l) => l.deliveries.length === count,
        `${count} attempts logged`,
      );

    it("sends another organization's event while a receiver holds one claim's worth of its own, and no more", async () => {
      receiver.answer = ({ path }) => (path === '/hanging' ? { status: 200, held: true } : { status: 204 });
      const hanging = await hookedOrg('Hanging', '/hanging');
      // Fewer than the delivery log's first page (50), which the test reads whole.
      const queued = CLAIM + 8;
      // Due a minute ahead, so that they fall due together and one claim meets them all.
      const later = server.clock.now() + 60_000;
      for (let i = 0; i < queued; i++) await hanging.newSession(later);
      server.clock.set(later);
      await pollUntil(() => receiver.holding === CLAIM, `${CLAIM} requests held`);

      const quick = await hookedOrg('Quick', '/quick');
      await quick.newSession(server.clock.now());
      await pollUntil(() => receiver.received.some((r) => r.path === '/quick'), "the other organization's event");
      // Sent while every one of the hanging receiver's requests is still open, none answered.
      assert.equal(receiver.holding, CLAIM);
      assert.equal(receiver.received.filter((r) => r.path === '/hanging').length, CLAIM, 'no more sent to it meanwhile');

      // Some answered, the rest still open: it gets nothing more until all of them have ended.
      receiver.release(10);
      await attempts(hanging, 10);
      await quick.newSession(server.clock.now());
      await pollUntil(() => receiver.received.filter((r) => r.path === '/quick').length === 2, "the other organization's next event");
      assert.equal(receiver.received.filter((r) => r.path === '/hanging').length, CLAIM, 'nothing more while some are in flight');

      // Once it has answered all, the rest of its queue follows.
      receiver.answer = () => ({ status: 200 });
      receiver.release();
      await pollUntil(() => receiver.received.filter((r) => r.path === '/hanging').length === queued, 'the whole queue');
      const log = await attempts(hanging, queued);
      assert.ok(log.deliveries.every((d: { statusCode: number }) => d.statusCode === 200));
      assert.equal(new Set(receiver.received.filter((r) => r.path === '/hanging').map((r) => r.id)).size, queued, 'each event once');
    });
  });

  describe(`webhook delivery, a receiver that lets its attempts time out (${backend.name})`, () => {
    let server: TestServer;
    let receiver: WebhookReceiver;
    /** Short, so that the test sees attempts run out; long beside a loaded machine's lag. */
    const timeoutMs = 2000;

    before(async () => {
      receiver = await new WebhookReceiver().start();
      server = await startTestServer({
        backend,
        clock: new ManualClock(Date.now()),
        configure: (c) => ({ ...c, events: { ...c.events, allowPrivate: true, pollMs: 25, webhookTimeoutMs: timeoutMs } }),
      });
    });
    after(async () => {
      receiver?.release();
      await server?.close();
      await receiver?.close();
    });

    it('is sent one delivery at a time once an attempt has gone unanswered, and all again once it answers', async () => {
      // When each request arrived: one at a time shows as gaps of a timeout, a claim's worth as none.
      const arrivals: number[] = [];
      let answers: 'held' | 'once, then held' = 'held';
      receiver.answer = () => {
        arrivals.push(performance.now());
        if (answers === 'held') return { status: 200, held: true };
        answers = 'held';
        return { status: 204 };
      };
      const admin = await server.createOrg('Timing out');
      const agentId = (await server.addUser(admin.orgId, 'agent')).userId;
      const hook = await server.request('POST', '/api/v1/webhooks', {
        token: admin.token,
        body: { url: `${receiver.url}/slow`, events: ['session.created'] },
      });
      assert.equal(hook.status, 201, hook.text);
      const actor = { orgId: admin.orgId, user: (await server.store.getUser(admin.orgId, admin.userId))!, ipAddress: null };
      const queued = CLAIM + 8;
      // Due together, so that the first claim takes a claim's worth; the clock stands still after,
      // so those that time out are not due again during the test.
      const later = server.clock.now() + 60_000;
      for (let i = 0; i < queued; i++) await createSession(server.store, actor, { coachingFormName: 'Review', agentId }, later);
      server.clock.set(later);
      const sent = () => receiver.received.length;
      await pollUntil(() => sent() === CLAIM, `${CLAIM} sent at once`);

      // They time out; of the 8 left, one is sent, the rest go back to the queue, and the next
      // follows only once that one has timed out.
      await pollUntil(() => sent() === CLAIM + 2, 'two more, after the timeouts');
      const gap = arrivals[CLAIM + 1]! - arrivals[CLAIM]!;
      assert.ok(gap >= timeoutMs * 0.9, `one at a time while it hangs: ${Math.round(gap)} ms between them`);
      const log = await server.request('GET', `/api/v1/webhooks/${hook.json.id}/deliveries`, { token: admin.token });
      assert.ok(log.json.deliveries.length <= sent(), 'no attempt logged for a delivery given back');

      // It answers an attempt again (the one in flight, or else the next): the rest go out together.
      answers = 'once, then held';
      receiver.release();
      await pollUntil(() => sent() === queued, 'the rest of its queue');
      const rest = arrivals.slice(-4);
      assert.ok(rest.at(-1)! - rest[0]! < timeoutMs / 2, 'the last ones sent together once it answered');
      // Those that timed out are due again only later: each event once.
      assert.equal(new Set(receiver.received.map((r) => r.id)).size, queued);
    });
  });
}
