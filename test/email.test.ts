import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { ParsedMail } from 'mailparser';
import { dumpDatabase, storeBackends } from './helpers/backends.js';
import { ManualClock } from './helpers/clock.js';
import { eventually, pollUntil } from './helpers/deadline.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { smtpMailer } from '../src/mail/mailer.js';
import { SmtpSink } from './helpers/smtp-sink.js';

/** The message as a person reads it, printed so the texts can be read in the test output. */
function show(t: TestContext, mail: ParsedMail): string {
  const text = mail.text ?? '';
  t.diagnostic(`--- ${mail.subject}\n${text}`);
  return text;
}

for (const backend of await storeBackends()) {
  describe(`email (${backend.name})`, () => {
    let server: TestServer;
    let smtp: SmtpSink;
    let admin: { orgId: string; userId: string; token: string };
    let agent: { userId: string; email: string; token: string };

    before(async () => {
      smtp = await new SmtpSink().start();
      server = await startTestServer({
        backend,
        clock: new ManualClock(Date.now()),
        configure: (c) => ({
          ...c,
          publicUrl: 'https://coachport.example',
          events: {
            ...c.events,
            smtpUrl: smtp.url,
            mailFrom: 'Coachport <noreply@coachport.example>',
            pollMs: 25,
            retryScheduleSeconds: [1, 1, 1, 1],
          },
        }),
      });
      admin = await server.createOrg('Mailroom');
      agent = await server.addUser(admin.orgId, 'agent', 'Ann Agent');
    });
    after(async () => {
      await server?.close();
      await smtp?.stop();
    });

    async function sharedSession(name: string): Promise<string> {
      const created = await server.request('POST', '/api/v1/coaching/sessions', {
        token: admin.token,
        body: { coachingFormName: name, agentId: agent.userId, meetingDate: '2026-11-30T10:00:00.000Z' },
      });
      assert.equal(created.status, 201, created.text);
      const shared = await server.request('POST', `/api/v1/coaching/sessions/${created.json._id}/share`, { token: admin.token });
      assert.equal(shared.status, 200, shared.text);
      return created.json._id as string;
    }

    it('mails the invite link the API returns, and keeps no copy of it once sent', async (t) => {
      const created = await server.request('POST', '/api/v1/users', {
        token: admin.token,
        body: { email: 'new.coach@example.test', name: 'Nora New', role: 'coach' },
      });
      assert.equal(created.status, 201, created.text);
      await pollUntil(() => smtp.to('new.coach@example.test').length === 1, 'the invite mail');
      const mail = smtp.to('new.coach@example.test')[0]!;
      const text = show(t, mail);
      assert.equal(mail.subject, 'You are invited to Mailroom on Coachport');
      assert.equal(mail.from?.value[0]?.address, 'noreply@coachport.example');
      assert.ok(text.includes(created.json.inviteUrl), 'the same link the API answered');
      assert.match(text, /Mailroom Admin invited you/);
      const secret = new URL(created.json.inviteUrl).pathname.split('/').pop()!;
      await eventually(
        () => dumpDatabase(server.config.database),
        (dump) => !dump.includes(secret),
        'the link wiped from the outbox',
      );
    });

    it('cancels the mail of an invite a newer one replaced before it went out', async () => {
      await smtp.stop();
      const created = await server.request('POST', '/api/v1/users', {
        token: admin.token,
        body: { email: 'twice@example.test', name: 'Tom Twice', role: 'agent' },
      });
      const again = await server.request('POST', `/api/v1/users/${created.json.id}/invite`, { token: admin.token });
      assert.equal(again.status, 200);
      await smtp.start();
      // A second each look: whichever attempt failed last while the server was down, its retry falls due.
      await pollUntil(() => {
        server.clock.advance(1000);
        return smtp.to('twice@example.test').length >= 1;
      }, 'the newer invite');
      await new Promise((resolve) => setTimeout(resolve, 300));
      server.clock.advance(5000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const mails = smtp.to('twice@example.test');
      assert.equal(mails.length, 1, 'only the link that works is mailed');
      assert.ok(mails[0]!.text?.includes(again.json.inviteUrl));
    });

    it('tells the agent a session was shared, and the coach that the agent confirmed, with a link to it', async (t) => {
      const id = await sharedSession('November QA review');
      await pollUntil(() => smtp.to(agent.email).length >= 1, "the agent's mail");
      const shared = smtp.to(agent.email).at(-1)!;
      const text = show(t, shared);
      assert.equal(shared.subject, 'Mailroom Admin shared a coaching session with you');
      assert.match(text, /"November QA review" \(meeting 2026-11-30\)/);
      assert.ok(text.includes(`https://coachport.example/sessions/${id}`));
      assert.ok(text.includes('https://coachport.example/me'), 'says where to turn the mails off');

      const adminEmail = (await server.request('GET', '/api/v1/users', { token: admin.token })).json.find(
        (u: any) => u.id === admin.userId,
      ).email;
      const confirmed = await server.request('POST', `/api/v1/coaching/sessions/${id}/confirm`, { token: agent.token });
      assert.equal(confirmed.status, 200, confirmed.text);
      await pollUntil(() => smtp.to(adminEmail).length >= 1, "the coach's mail");
      const toCoach = smtp.to(adminEmail).at(-1)!;
      show(t, toCoach);
      assert.equal(toCoach.subject, 'Ann Agent confirmed the coaching session');
      assert.ok(toCoach.text?.includes(`https://coachport.example/sessions/${id}`));
    });

    it("writes in the person's console language", async (t) => {
      const set = await server.request('PATCH', '/api/v1/me', { token: agent.token, body: { language: 'ko' } });
      assert.equal(set.status, 200, set.text);
      assert.deepEqual(set.json, { emailNotifications: true, language: 'ko' });
      const before = smtp.to(agent.email).length;
      const id = await sharedSession('12월 코칭');
      await pollUntil(() => smtp.to(agent.email).length > before, 'the Korean mail');
      const mail = smtp.to(agent.email).at(-1)!;
      const text = show(t, mail);
      assert.equal(mail.subject, 'Mailroom Admin님이 코칭 세션을 공유했습니다');
      assert.match(text, /안녕하세요/);
      assert.ok(text.includes(`https://coachport.example/sessions/${id}`));

      await server.request('PATCH', '/api/v1/me', { token: admin.token, body: { language: 'ko' } });
      await server.request('POST', '/api/v1/users', {
        token: admin.token,
        body: { email: 'kim@example.test', name: '김민지', role: 'agent' },
      });
      await pollUntil(() => smtp.to('kim@example.test').length === 1, 'the Korean invite');
      const invite = smtp.to('kim@example.test')[0]!;
      show(t, invite);
      assert.equal(invite.subject, 'Coachport Mailroom에 초대되었습니다', "an invite goes in the inviter's language");
      await server.request('PATCH', '/api/v1/me', { token: admin.token, body: { language: 'en' } });
      await server.request('PATCH', '/api/v1/me', { token: agent.token, body: { language: 'en' } });
    });

    it('sends nothing to a person who turned the mails off', async () => {
      const off = await server.request('PATCH', '/api/v1/me', { token: agent.token, body: { emailNotifications: false } });
      assert.equal(off.json.emailNotifications, false);
      const before = smtp.to(agent.email).length;
      await sharedSession('Quiet review');
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.equal(smtp.to(agent.email).length, before);
      await server.request('PATCH', '/api/v1/me', { token: agent.token, body: { emailNotifications: true } });
      const bad = await server.request('PATCH', '/api/v1/me', { token: agent.token, body: { emailNotifications: 'no' } });
      assert.equal(bad.status, 400);
      assert.equal(typeof bad.json.error, 'string');
      const unknown = await server.request('PATCH', '/api/v1/me', { token: agent.token, body: { language: 'fr' } });
      assert.equal(unknown.status, 400);
    });

    it('delays mail while the SMTP server is down and sends it when it is back', async () => {
      await smtp.stop();
      const before = smtp.to(agent.email).length;
      await sharedSession('Sent later');
      await eventually(
        () => server.request('GET', '/metrics').then((r) => r.text),
        (text) => /coachport_emails_total\{outcome="failure"\} [1-9]/.test(text),
        'a failed attempt',
      );
      await smtp.start();
      // A second each look: whichever attempt failed last while the server was down, its retry falls due.
      await pollUntil(() => {
        server.clock.advance(1000);
        return smtp.to(agent.email).length > before;
      }, 'the delayed mail');
      assert.equal(smtp.to(agent.email).at(-1)!.subject, 'Mailroom Admin shared a coaching session with you');
      const metrics = await server.request('GET', '/metrics');
      assert.match(metrics.text, /coachport_emails_total\{outcome="sent"\} [1-9]/);
    });
  });
}

describe('without SMTP_URL', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ configure: (c) => ({ ...c, events: { ...c.events, smtpUrl: null } }) });
  });
  after(() => server?.close());

  it('queues no mail at all', async () => {
    const admin = await server.createOrg('Quiet');
    const created = await server.request('POST', '/api/v1/users', {
      token: admin.token,
      body: { email: 'x@example.test', name: 'X', role: 'agent' },
    });
    assert.equal(created.status, 201);
    const dump = await dumpDatabase(server.config.database);
    assert.ok(!dump.includes(new URL(created.json.inviteUrl).pathname.split('/').pop()!), 'the link is nowhere but in the answer');
  });
});

describe('the mailer', () => {
  it('cuts a message whose SMTP steps each answer within the timeout but which takes longer in all', async () => {
    const slow = await new SmtpSink(undefined, 500).start();
    const mailer = smtpMailer(slow.url, 'Coachport <noreply@coachport.example>', 1000);
    try {
      await assert.rejects(
        mailer.send({ to: 'slow@example.test', subject: 'Slow', text: 'Three steps of 500 ms.' }),
        /^Error: The SMTP server did not take the message within 1000 ms\.$/,
      );
      // The connection it could not abandon goes on: busy until the server has answered.
      assert.equal(mailer.busy(), true);
      await pollUntil(() => !mailer.busy(), 'the cut send to settle');
      assert.equal(slow.to('slow@example.test').length, 1, 'the slow server took it in the end: one more reason for at least once');
    } finally {
      mailer.close();
      await slow.stop();
    }
  });
});
