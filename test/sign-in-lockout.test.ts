import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PASSWORD, signIn, userWithPassword } from './helpers/browser.js';
import { ManualClock } from './helpers/clock.js';
import { testLimiters } from './helpers/limiters.js';
import { startTestServer, type Reply, type TestServer } from './helpers/server.js';

/** Per-second limits out of reach, so the minute limits decide even on a slow machine (Redis runs on real time). */
const PER_ADDRESS = { perSecond: 10_000, perMinute: 40 };
const PER_ACCOUNT_ADDRESS = { perSecond: 10_000, perMinute: 5, perHour: 20 };
const PER_ACCOUNT = { perSecond: 10_000, perMinute: 10, perHour: 100 };
const REFUSED = { error: 'The email or password is not right.' };

const limiters = await testLimiters();

const statuses = (replies: Reply[]) => replies.map((r) => r.status);
const countOf = (replies: Reply[], status: number) => replies.filter((r) => r.status === status).length;
const parallel = <T>(n: number, run: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_v, i) => run(i)));
const from = (address: string) => ({ 'x-forwarded-for': address });

for (const kind of limiters) {
  describe(`guessing one person's password never locks them out, ${kind.name} limiter`, { skip: kind.skip ?? false }, () => {
    let server: TestServer;
    let admin: { orgId: string; token: string };

    before(async () => {
      const clock = new ManualClock();
      server = await startTestServer({
        clock,
        limiter: await kind.make(clock),
        configure: (c) => ({
          ...c,
          trustProxy: true,
          limits: { ...c.limits, authFailures: PER_ADDRESS, signInPerAccountAddress: PER_ACCOUNT_ADDRESS, signInPerAccount: PER_ACCOUNT },
        }),
      });
      admin = await server.createOrg('Lockout');
    });
    after(() => server.close());

    it("one address hammering a person's email is held to its own allowance; the person signs in elsewhere meanwhile", async () => {
      const victim = await userWithPassword(server, admin.token, 'coach');
      const attack = await parallel(12, (i) => signIn(server, victim.email, `wrong guess ${i}`, from('198.51.100.20')));
      assert.equal(countOf(attack, 401), PER_ACCOUNT_ADDRESS.perMinute, statuses(attack).join(','));
      assert.equal(countOf(attack, 429), 12 - PER_ACCOUNT_ADDRESS.perMinute);
      const limited = attack.find((r) => r.status === 429)!;
      assert.match(limited.json.error, /^Too many failed sign-ins for this account from this address; try again in \d+ seconds\.$/);
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);

      const owner = await signIn(server, victim.email, PASSWORD, from('203.0.113.20'));
      assert.equal(owner.status, 200, 'the owner, from an address never seen before, signs in while the guessing goes on');
      const more = await parallel(6, (i) => signIn(server, victim.email, `more guesses ${i}`, from('198.51.100.20')));
      assert.deepEqual(statuses(more), [429, 429, 429, 429, 429, 429], 'the guessing address stays limited');
      assert.equal((await signIn(server, victim.email, PASSWORD, from('198.51.100.20'))).status, 429, 'even with the right password');
      assert.equal(
        (await signIn(server, victim.email, PASSWORD, from('203.0.113.21'))).status,
        200,
        'and the owner again, from a third address',
      );

      const other = await userWithPassword(server, admin.token, 'agent');
      assert.equal(
        (await signIn(server, other.email, PASSWORD, from('198.51.100.20'))).status,
        200,
        'the address still reaches other accounts',
      );
    });

    it("many addresses guessing one account meet the account's ceiling; then only addresses known for it get through", async () => {
      const victim = await userWithPassword(server, admin.token, 'coach');
      assert.equal((await signIn(server, victim.email, PASSWORD, from('203.0.113.30'))).status, 200, "the owner's usual address");
      const botnet = await parallel(16, (i) => signIn(server, victim.email, `wrong guess ${i}`, from(`192.0.2.${i + 1}`)));
      assert.equal(countOf(botnet, 401), PER_ACCOUNT.perMinute, statuses(botnet).join(','));
      assert.equal(countOf(botnet, 429), 16 - PER_ACCOUNT.perMinute);
      for (const reply of botnet.filter((r) => r.status === 429)) {
        assert.match(reply.json.error, /^Too many sign-in attempts for this account; try again in \d+ seconds\.$/);
      }
      assert.equal((await signIn(server, victim.email, `yet another guess`, from('192.0.2.200'))).status, 429, 'a new guessing address');
      assert.equal(
        (await signIn(server, victim.email, PASSWORD, from('203.0.113.31'))).status,
        429,
        'an unknown address waits, right password or not',
      );
      assert.equal(
        (await signIn(server, victim.email, PASSWORD, from('203.0.113.30'))).status,
        200,
        "the owner's known address gets through",
      );
      const invited = await userWithPassword(server, admin.token, 'agent');
      assert.equal((await signIn(server, invited.email, PASSWORD, from('203.0.113.31'))).status, 200, 'other accounts are not affected');
    });

    it('an unknown email meets the same limits with the same answers', async () => {
      const ghost = await parallel(16, (i) => signIn(server, 'Nobody-Here@example.test', `wrong guess ${i}`, from(`192.0.2.${i + 101}`)));
      assert.equal(countOf(ghost, 401), PER_ACCOUNT.perMinute, statuses(ghost).join(','));
      assert.equal(countOf(ghost, 429), 16 - PER_ACCOUNT.perMinute);
      for (const reply of ghost.filter((r) => r.status === 401)) assert.deepEqual(reply.json, REFUSED);
      for (const reply of ghost.filter((r) => r.status === 429)) {
        assert.match(reply.json.error, /^Too many sign-in attempts for this account;/);
      }
      const single = await parallel(8, (i) => signIn(server, 'nobody-else@example.test', `wrong guess ${i}`, from('198.51.100.50')));
      assert.equal(countOf(single, 401), PER_ACCOUNT_ADDRESS.perMinute);
      assert.match(single.find((r) => r.status === 429)!.json.error, /^Too many failed sign-ins for this account from this address;/);
    });
  });
}

describe('the hour limits of sign-in, memory limiter', () => {
  it("one address that guesses slowly, within the minute limit, is stopped by the hour limit, before the account's ceiling", async () => {
    const clock = new ManualClock();
    const server = await startTestServer({
      clock,
      configure: (c) => ({
        ...c,
        trustProxy: true,
        limits: { ...c.limits, authFailures: PER_ADDRESS, signInPerAccountAddress: PER_ACCOUNT_ADDRESS, signInPerAccount: PER_ACCOUNT },
      }),
    });
    try {
      const admin = await server.createOrg('Slow guessing');
      const victim = await userWithPassword(server, admin.token, 'coach');
      const answers: number[] = [];
      for (let minute = 0; minute < 5; minute++) {
        for (let i = 0; i < PER_ACCOUNT_ADDRESS.perMinute; i++) {
          answers.push((await signIn(server, victim.email, `slow guess ${minute}-${i}`, from('198.51.100.60'))).status);
          clock.advance(1_000);
        }
        clock.advance(61_000);
      }
      assert.equal(answers.filter((s) => s === 401).length, PER_ACCOUNT_ADDRESS.perHour, answers.join(','));
      assert.deepEqual(answers.slice(PER_ACCOUNT_ADDRESS.perHour), [429, 429, 429, 429, 429]);
      assert.equal(
        (await signIn(server, victim.email, PASSWORD, from('203.0.113.60'))).status,
        200,
        'the ceiling is not reached by one address',
      );
      clock.advance(60 * 60 * 1000);
      assert.equal(
        (await signIn(server, victim.email, 'an hour later', from('198.51.100.60'))).status,
        401,
        'an hour later, it may try again',
      );
    } finally {
      await server.close();
    }
  });
});
