import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { eventId as eventIdOf, eventSeqOf } from '../src/events/event-body.js';
import { signatureHeader } from '../src/webhooks/signing.js';
import { storeBackends } from './helpers/backends.js';
import { ManualClock } from './helpers/clock.js';
import { eventually, pollUntil } from './helpers/deadline.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { WebhookReceiver } from './helpers/webhook-receiver.js';

describe('Standard Webhooks signatures', () => {
  it("signs the specification's published test vector", () => {
    // https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md (the example signature)
    const header = signatureHeader(
      ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
      'msg_p5jXN8AQM9LWM0D4loKWxJek',
      1614265330,
      '{"test": 2432232314}',
    );
    assert.equal(header, 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('signs with both secrets, space-separated, and each verifies alone', () => {
    const secrets = ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXkhIQ=='];
    const now = Math.floor(Date.now() / 1000);
    const header = signatureHeader(secrets, 'evt_1', now, '{"a":1}');
    assert.equal(header.split(' ').length, 2);
    for (const secret of secrets) {
      new Webhook(secret).verify('{"a":1}', { 'webhook-id': 'evt_1', 'webhook-timestamp': String(now), 'webhook-signature': header });
    }
    assert.throws(() =>
      new Webhook('whsec_c29tZSBvdGhlciBrZXkgdGhhdCBkb2VzIG5vdCBzaWdu').verify('{"a":1}', {
        'webhook-id': 'evt_1',
        'webhook-timestamp': String(now),
        'webhook-signature': header,
      }),
    );
  });
});

for (const backend of await storeBackends()) {
  describe(`webhooks (${backend.name})`, () => {
    let server: TestServer;
    let receiver: WebhookReceiver;
    let admin: { orgId: string; userId: string; token: string };
    let agent: { userId: string; token: string };

    before(async () => {
      receiver = await new WebhookReceiver().start();
      server = await startTestServer({
        backend,
        clock: new ManualClock(Date.now()),
        configure: (c) => ({
          ...c,
          events: { ...c.events, allowPrivate: true, pollMs: 25, webhookTimeoutMs: 1000, retryScheduleSeconds: [1, 1, 1] },
        }),
      });
      admin = await server.createOrg('Hooked');
      agent = await server.addUser(admin.orgId, 'agent', 'Ann Agent');
    });
    after(async () => {
      await server?.close();
      await receiver?.close();
    });

    async function endpoint(path: string, events: string[] = ['*']) {
      const created = await server.request('POST', '/api/v1/webhooks', {
        token: admin.token,
        body: { url: `${receiver.url}${path}`, events },
      });
      assert.equal(created.status, 201, created.text);
      receiver.secrets.push(created.json.secret);
      return created.json as { id: string; secret: string; url: string; active: boolean };
    }

    async function newSession(name = 'Webhook review') {
      const created = await server.request('POST', '/api/v1/coaching/sessions', {
        token: admin.token,
        body: { coachingFormName: name, agentId: agent.userId, meetingDate: '2024-03-01T10:00:00.000Z' },
      });
      assert.equal(created.status, 201, created.text);
      return created.json._id as string;
    }

    const at = (path: string) => receiver.received.filter((r) => r.path === path);

    /** The endpoint's delivery log once it holds at least `count` attempts. */
    const attemptsOf = (id: string, count = 1) =>
      eventually(
        async () => (await server.request('GET', `/api/v1/webhooks/${id}/deliveries`, { token: admin.token })).json,
        (log) => log.deliveries.length >= count,
        `${count} attempts logged`,
      );

    it('sends each event of a change, signed, with the session as it was changed and its log entry', async () => {
      const hook = await endpoint('/all');
      assert.match(hook.secret, /^whsec_[A-Za-z0-9+/=]{40,}$/);
      const listed = await server.request('GET', '/api/v1/webhooks', { token: admin.token });
      assert.equal(listed.json.length, 1);
      assert.equal(listed.json[0].secret, undefined, 'the secret is shown once');

      const id = await newSession();
      const shared = await server.request('POST', `/api/v1/coaching/sessions/${id}/share`, { token: admin.token });
      assert.equal(shared.status, 200, shared.text);
      await pollUntil(() => at('/all').length >= 2, 'two events at the receiver');
      await attemptsOf(hook.id, 2);
      // Events are sent concurrently, so they may arrive in either order (docs/events.md, "No ordering").
      const types = at('/all').map((r) => r.json.type as string);
      assert.deepEqual([...types].sort(), ['session.created', 'session.shared']);
      const created = at('/all')[types.indexOf('session.created')];
      const share = at('/all')[types.indexOf('session.shared')];
      for (const r of [created!, share!]) {
        assert.deepEqual(r.verifiedWith, [hook.secret], 'verified by the standardwebhooks library');
        assert.equal(r.id, r.json.id, 'webhook-id is the event id');
        assert.match(r.id, /^evt_/);
        assert.equal(r.json.organizationId, admin.orgId);
        assert.deepEqual(Object.keys(r.json), ['id', 'type', 'timestamp', 'organizationId', 'data']);
        assert.ok(Math.abs(Number(r.timestamp) - Date.now() / 1000) < 300);
      }
      assert.equal(created!.json.data.session.sharedWithAgent, false, 'the document after that change, not a later one');
      assert.equal(share!.json.data.session.sharedWithAgent, true);
      assert.equal(share!.json.data.entry.actionType, 'shared');
      assert.deepEqual(share!.json.data.session.activityLog.at(-1), share!.json.data.entry);
      const now = await server.request('GET', `/api/v1/coaching/sessions/${id}`, { token: admin.token });
      assert.deepEqual(share!.json.data.session, now.json);

      const log = await server.request('GET', `/api/v1/webhooks/${hook.id}/deliveries`, { token: admin.token });
      assert.equal(log.status, 200, log.text);
      assert.equal(log.json.deliveries.length, 2);
      // Newest first, and the two were sent at once: either may have been logged first.
      assert.deepEqual(log.json.deliveries.map((d: any) => [d.type, d.attempt, d.statusCode, d.error, d.nextAttemptAt]).sort(), [
        ['session.created', 1, 200, null, null],
        ['session.shared', 1, 200, null, null],
      ]);
      await server.request('DELETE', `/api/v1/webhooks/${hook.id}`, { token: admin.token });
    });

    it('sends only the types an endpoint subscribes to', async () => {
      const hook = await endpoint('/shared-only', ['session.shared']);
      const id = await newSession();
      await server.request('POST', `/api/v1/coaching/sessions/${id}/share`, { token: admin.token });
      await pollUntil(() => at('/shared-only').length >= 1, 'the shared event');
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(
        at('/shared-only').map((r) => r.json.type),
        ['session.shared'],
      );
      await server.request('DELETE', `/api/v1/webhooks/${hook.id}`, { token: admin.token });
    });

    it('retries a failure on the schedule with the same webhook-id, and logs each attempt', async () => {
      receiver.answer = ({ path, count }) => (path === '/flaky' && count === 1 ? { status: 500 } : { status: 200 });
      const hook = await endpoint('/flaky', ['session.created']);
      await newSession();
      await pollUntil(() => at('/flaky').length >= 1, 'the first attempt');
      // Once the failure is recorded: its retry is due a second after it, on the clock of that moment.
      await attemptsOf(hook.id);
      server.clock.advance(1500);
      await pollUntil(() => at('/flaky').length >= 2, 'the retry');
      const [first, second] = at('/flaky');
      assert.equal(first!.answered, 500);
      assert.equal(second!.answered, 200);
      assert.equal(first!.id, second!.id);
      assert.equal(second!.verifiedWith.length, 1);
      await attemptsOf(hook.id, 2);
      const log = await server.request('GET', `/api/v1/webhooks/${hook.id}/deliveries?limit=1`, { token: admin.token });
      assert.equal(log.json.deliveries[0].attempt, 2);
      assert.equal(log.json.deliveries[0].statusCode, 200);
      assert.equal(log.json.hasMore, true);
      const older = await server.request('GET', `/api/v1/webhooks/${hook.id}/deliveries?cursor=${log.json.cursor}`, { token: admin.token });
      assert.equal(older.json.deliveries.length, 1);
      const failed = older.json.deliveries[0];
      assert.equal(failed.attempt, 1);
      assert.equal(failed.statusCode, 500);
      assert.match(failed.error, /500/);
      const wait = Date.parse(failed.nextAttemptAt) - Date.parse(failed.at);
      assert.ok(wait >= 900 && wait <= 1100, `a 1 s wait with ±10% jitter, got ${wait} ms`);
      receiver.answer = () => ({ status: 200 });
      await server.request('DELETE', `/api/v1/webhooks/${hook.id}`, { token: admin.token });
    });

    it('treats a redirect as a failure and never follows it', async () => {
      receiver.answer = ({ path }) =>
        path === '/moved' ? { status: 302, headers: { location: `${receiver.url}/target` } } : { status: 200 };
      const hook = await endpoint('/moved', ['session.created']);
      await newSession();
      await pollUntil(() => at('/moved').length >= 1, 'the attempt');
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(at('/target').length, 0);
      const log = await attemptsOf(hook.id);
      assert.equal(log.deliveries[0].statusCode, 302);
      assert.match(log.deliveries[0].error, /redirect/);
      assert.notEqual(log.deliveries[0].nextAttemptAt, null);
      await server.request('DELETE', `/api/v1/webhooks/${hook.id}`, { token: admin.token });
    });

    it('turns the endpoint off at a 410 Gone', async () => {
      receiver.answer = ({ path }) => (path === '/gone' ? { status: 410 } : { status: 200 });
      const hook = await endpoint('/gone', ['session.created']);
      await newSession();
      await pollUntil(() => at('/gone').length >= 1, 'the attempt');
      const state = await eventually(
        async () => (await server.request('GET', `/api/v1/webhooks/${hook.id}`, { token: admin.token })).json,
        (endpoint) => !endpoint.active,
        'the endpoint turned off',
      );
      assert.equal(state.active, false);
      assert.match(state.disabledReason, /410/);
      await newSession();
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(at('/gone').length, 1, 'nothing more is sent');
    });

    it('cuts a receiver that answers after the timeout', async () => {
      receiver.answer = ({ path }) => (path === '/slow' ? { status: 200, delayMs: 1500 } : { status: 200 });
      const hook = await endpoint('/slow', ['session.created']);
      await newSession();
      const log = await attemptsOf(hook.id);
      assert.equal(log.deliveries[0].statusCode, null);
      assert.match(log.deliveries[0].error, /no answer within 1000 ms/);
      assert.ok(log.deliveries[0].durationMs >= 900 && log.deliveries[0].durationMs < 1400);
      receiver.answer = () => ({ status: 200 });
      await server.request('DELETE', `/api/v1/webhooks/${hook.id}`, { token: admin.token });
    });

    it('logs an attempt that was under way when its endpoint was turned off', async () => {
      receiver.answer = ({ path }) => (path === '/turned-off' ? { status: 200, delayMs: 600 } : { status: 200 });
      const hook = await endpoint('/turned-off', ['session.created']);
      await newSession();
      await pollUntil(() => at('/turned-off').length >= 1, 'the attempt');
      const off = await server.request('PATCH', `/api/v1/webhooks/${hook.id}`, { token: admin.token, body: { active: false } });
      assert.equal(off.status, 200, off.text);
      const log = await attemptsOf(hook.id);
      assert.deepEqual([log.deliveries.length, log.deliveries[0].statusCode, log.deliveries[0].nextAttemptAt], [1, 200, null]);
      receiver.answer = () => ({ status: 200 });
      await server.request('DELETE', `/api/v1/webhooks/${hook.id}`, { token: admin.token });
    });

    it("honours a 429's Retry-After, counted from the answer", async () => {
      receiver.answer = ({ path }) => {
        if (path !== '/busy') return { status: 200 };
        // The receiver takes 10 s (on the server's clock) to answer.
        server.clock.advance(10_000);
        return { status: 429, headers: { 'retry-after': '2' } };
      };
      const hook = await endpoint('/busy', ['session.created']);
      await newSession();
      await pollUntil(() => at('/busy').length >= 1, 'the attempt');
      const log = await attemptsOf(hook.id);
      const d = log.deliveries[0];
      assert.equal(d.statusCode, 429);
      assert.equal(Date.parse(d.nextAttemptAt) - Date.parse(d.at), 12_000, 'Retry-After after the 10 s answer, not the 1 s schedule');
      receiver.answer = () => ({ status: 200 });
      await server.request('DELETE', `/api/v1/webhooks/${hook.id}`, { token: admin.token });
    });

    it('signs with both secrets for a day after a rotation', async () => {
      const hook = await endpoint('/rotated', ['session.created']);
      const rotated = await server.request('POST', `/api/v1/webhooks/${hook.id}/rotate-secret`, { token: admin.token });
      assert.equal(rotated.status, 200, rotated.text);
      assert.notEqual(rotated.json.secret, hook.secret);
      receiver.secrets.push(rotated.json.secret);
      await newSession();
      await pollUntil(() => at('/rotated').length >= 1, 'the event');
      assert.deepEqual(at('/rotated')[0]!.verifiedWith.sort(), [hook.secret, rotated.json.secret].sort());
      assert.equal(at('/rotated')[0]!.signature.split(' ').length, 2);
      server.clock.advance(24 * 3600 * 1000 + 1000);
      const test = await server.request('POST', `/api/v1/webhooks/${hook.id}/test`, { token: admin.token });
      assert.equal(test.status, 202, test.text);
      await pollUntil(() => at('/rotated').length >= 2, 'the test event');
      server.clock.set(Date.now());
      const late = at('/rotated')[1]!;
      assert.equal(late.json.type, 'webhook.test');
      assert.equal(late.id, test.json.eventId);
      assert.equal(late.signature.split(' ').length, 1, 'the old secret no longer signs');
      await server.request('DELETE', `/api/v1/webhooks/${hook.id}`, { token: admin.token });
    });

    it('redelivers an event with its own id', async () => {
      const hook = await endpoint('/again', ['session.created']);
      await newSession();
      await pollUntil(() => at('/again').length >= 1, 'the event');
      const eventId = at('/again')[0]!.id;
      const again = await server.request('POST', `/api/v1/webhooks/${hook.id}/events/${eventId}/redeliver`, { token: admin.token });
      assert.equal(again.status, 202, again.text);
      await pollUntil(() => at('/again').length >= 2, 'the redelivery');
      assert.equal(at('/again')[1]!.id, eventId);
      assert.equal(at('/again')[1]!.body, at('/again')[0]!.body);
      const missing = await server.request('POST', `/api/v1/webhooks/${hook.id}/events/evt_nope/redeliver`, { token: admin.token });
      assert.equal(missing.status, 404);
      assert.match(missing.json.error, /evt_nope/);
      // The id names its row by number; the same number with another time is no event of this organization.
      const seq = eventSeqOf(eventId)!;
      assert.equal(eventIdOf(Date.parse(at('/again')[0]!.json.timestamp), seq), eventId);
      const forged = eventIdOf(Date.parse(at('/again')[0]!.json.timestamp) - 1000, seq);
      const refused = await server.request('POST', `/api/v1/webhooks/${hook.id}/events/${forged}/redeliver`, { token: admin.token });
      assert.equal(refused.status, 404);
      await server.request('DELETE', `/api/v1/webhooks/${hook.id}`, { token: admin.token });
    });

    it('refuses bad input with {"error"} and stores nothing', async () => {
      const before = (await server.request('GET', '/api/v1/webhooks', { token: admin.token })).json.length;
      const bad: Array<[unknown, RegExp]> = [
        [{ url: 'not a url', events: ['*'] }, /absolute http or https/],
        [{ url: 'ftp://example.com/hook', events: ['*'] }, /http or https/],
        [{ url: 'https://user:pw@example.com/hook', events: ['*'] }, /user name or password/],
        [{ url: `${receiver.url}/x`, events: ['session.exploded'] }, /Unknown event type "session.exploded"/],
        [{ url: `${receiver.url}/x`, events: [] }, /events/],
        [{ url: `${receiver.url}/x` }, /events/],
      ];
      for (const [body, message] of bad) {
        const reply = await server.request('POST', '/api/v1/webhooks', { token: admin.token, body });
        assert.equal(reply.status, 400, JSON.stringify(body));
        assert.match(reply.json.error, message);
      }
      const other = await server.createOrg('Elsewhere');
      const theirs = await server.request('POST', '/api/v1/webhooks', {
        token: other.token,
        body: { url: `${receiver.url}/theirs`, events: ['*'] },
      });
      assert.equal(theirs.status, 201);
      for (const [method, path] of [
        ['GET', ''],
        ['PATCH', ''],
        ['DELETE', ''],
        ['POST', '/rotate-secret'],
        ['POST', '/test'],
        ['GET', '/deliveries'],
      ] as const) {
        const reply = await server.request(method, `/api/v1/webhooks/${theirs.json.id}${path}`, {
          token: admin.token,
          ...(method === 'PATCH' ? { body: { active: false } } : {}),
        });
        assert.equal(reply.status, 404, `${method} ${path}`);
        assert.match(reply.json.error, /no webhook/);
      }
      const coach = await server.addUser(admin.orgId, 'coach');
      const refused = await server.request('POST', '/api/v1/webhooks', {
        token: coach.token,
        body: { url: `${receiver.url}/c`, events: ['*'] },
      });
      assert.equal(refused.status, 403);
      assert.equal((await server.request('GET', '/api/v1/webhooks', { token: admin.token })).json.length, before);
      const cursor = await server.request('GET', `/api/v1/webhooks/${theirs.json.id}/deliveries?cursor=garbage`, { token: other.token });
      assert.equal(cursor.status, 400);
    });

    it('writes no event for a change that rolls back', async () => {
      const hook = await endpoint('/rollback', ['*']);
      const id = await newSession();
      await pollUntil(() => at('/rollback').length >= 1, 'the created event');
      await assert.rejects(
        server.store.coaching(admin.orgId, async (tx) => {
          const session = await tx.getSession(id);
          await tx.saveSession({ ...session!, coachNotes: 'never kept' }, false);
          await tx.appendLog(id, {
            userId: admin.userId,
            userEmail: null,
            actionType: 'updated',
            descriptions: ['never kept'],
            timestamp: server.clock.now(),
            ipAddress: null,
          });
          throw new Error('the change fails after its log entry');
        }),
        /the change fails/,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(at('/rollback').length, 1);
      await server.request('DELETE', `/api/v1/webhooks/${hook.id}`, { token: admin.token });
    });

    it('audits every change to an endpoint and counts deliveries in /metrics', async () => {
      const audit = await server.request('GET', '/api/v1/audit-log?limit=500', { token: admin.token });
      const actions = new Set((audit.json.entries as Array<{ action: string }>).map((e) => e.action));
      for (const action of ['webhook_created', 'webhook_deleted', 'webhook_secret_rotated']) assert.ok(actions.has(action), action);
      const audited = await endpoint('/audited');
      const patched = await server.request('PATCH', `/api/v1/webhooks/${audited.id}`, {
        token: admin.token,
        body: { description: 'CRM' },
      });
      assert.equal(patched.json.description, 'CRM');
      const updated = await server.request('GET', '/api/v1/audit-log?action=webhook_updated', { token: admin.token });
      const mine = (updated.json.entries as Array<{ target: string; details: unknown }>).filter((e) => e.target.includes(audited.id));
      assert.deepEqual(
        mine.map((e) => e.details),
        [{ fields: ['description'] }],
      );
      assert.doesNotMatch(audit.text, /whsec_/, 'no secret in the audit log');
      const metrics = await server.request('GET', '/metrics');
      assert.match(metrics.text, /coachport_webhook_deliveries_total\{outcome="success"\} [1-9]/);
      assert.match(metrics.text, /coachport_webhook_deliveries_total\{outcome="gone"\} 1/);
    });

    it('forgets events and attempts past their retention, but not an event a queued delivery needs', async () => {
      receiver.answer = ({ path }) => (path === '/refusing' ? { status: 500 } : { status: 200 });
      const kept = await endpoint('/retained', ['session.created']);
      const refusing = await endpoint('/refusing', ['session.shared']);
      const id = await newSession('Old news');
      assert.equal((await server.request('POST', `/api/v1/coaching/sessions/${id}/share`, { token: admin.token })).status, 200);
      await pollUntil(() => at('/retained').length >= 1 && at('/refusing').length >= 1, 'both events tried');
      await attemptsOf(refusing.id);
      const created = at('/retained')[0]!.id;
      const shared = at('/refusing')[0]!.id;
      // 40 days on, past the 30 of retention even for the event the rotation test dated a day ahead
      // (the scan stops at the first event still kept). The share's delivery fails again and stays queued.
      server.clock.advance(40 * 86_400_000);
      const log = await eventually(
        async () => (await server.request('GET', `/api/v1/webhooks/${kept.id}/deliveries`, { token: admin.token })).json,
        (l) => l.deliveries.length === 0,
        'the old attempt forgotten',
      );
      assert.deepEqual(log.deliveries, []);
      const stale = await server.request('POST', `/api/v1/webhooks/${kept.id}/events/${created}/redeliver`, { token: admin.token });
      assert.equal(stale.status, 404, 'the delivered event is gone');
      const queued = await server.request('POST', `/api/v1/webhooks/${refusing.id}/events/${shared}/redeliver`, { token: admin.token });
      assert.equal(queued.status, 202, 'the event a queued delivery needs is kept');
      const refusals = (await server.request('GET', `/api/v1/webhooks/${refusing.id}/deliveries`, { token: admin.token })).json.deliveries;
      assert.ok(
        refusals.every((a: { at: string }) => Date.parse(a.at) > server.clock.now() - 86_400_000),
        'only the attempts made after the 40 days are still logged',
      );
      receiver.answer = () => ({ status: 200 });
      for (const hook of [kept, refusing]) await server.request('DELETE', `/api/v1/webhooks/${hook.id}`, { token: admin.token });
      server.clock.set(Date.now());
    });
  });
}
