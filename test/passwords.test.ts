import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  hashPassword,
  needsRehash,
  PASSWORD_COST,
  passwordProblem,
  verifyAgainstNothing,
  verifyPassword,
} from '../src/accounts/passwords.js';
import { storeBackends } from './helpers/backends.js';
import { PASSWORD, signIn } from './helpers/browser.js';
import { startTestServer, TEST_PASSWORD_COST, type TestServer } from './helpers/server.js';

/** The cost every hash was made with before N = 2^17. */
const OLD_COST = { N: 2 ** 15, r: 8, p: 1 };

describe('passwords', () => {
  it('needs at least 10 characters, counted as characters rather than bytes', () => {
    assert.match(passwordProblem('123456789')!, /at least 10 characters/);
    assert.equal(passwordProblem('1234567890'), null);
    assert.match(passwordProblem('비밀번호비밀번호비')!, /at least 10/);
    assert.equal(passwordProblem('비밀번호비밀번호비밀'), null, 'ten Korean characters are ten characters');
    assert.match(passwordProblem('😀'.repeat(9))!, /at least 10/, 'nine emoji are nine characters, not eighteen code units');
    assert.match(passwordProblem('x'.repeat(1025))!, /at most 1024/);
  });

  it('hashes with scrypt at N = 2^17, r = 8, p = 1 and a fresh salt each time, and verifies only the right password', async () => {
    assert.deepEqual({ ...PASSWORD_COST }, { N: 131072, r: 8, p: 1 });
    const a = await hashPassword('a long password');
    const b = await hashPassword('a long password');
    assert.notEqual(a, b, 'salted per password');
    assert.match(a, /^scrypt\$131072\$8\$1\$/);
    assert.equal(await verifyPassword('a long password', a), true);
    assert.equal(await verifyPassword('a long passworD', a), false);
    assert.equal(await verifyPassword('a long password', 'not-a-hash'), false);
    assert.equal(needsRehash(a), false);
    assert.equal(await verifyAgainstNothing('anything at all'), false);
  });

  it('still verifies a hash made at an older cost, which is marked for rewriting', async () => {
    const old = await hashPassword('a long password', OLD_COST);
    assert.match(old, /^scrypt\$32768\$8\$1\$/);
    assert.equal(await verifyPassword('a long password', old), true);
    assert.equal(await verifyPassword('a long passworD', old), false);
    assert.equal(needsRehash(old), true);
    assert.equal(needsRehash('not-a-hash'), true);
    const cheap = await hashPassword(`${'é'.normalize('NFC')}tudiant12`, TEST_PASSWORD_COST);
    assert.equal(await verifyPassword(`${'é'.normalize('NFD')}tudiant12`, cheap), true, 'the same text typed on two keyboards');
  });
});

for (const backend of await storeBackends()) {
  describe(`an older password hash is rewritten at the next sign-in (${backend.name})`, () => {
    let server: TestServer;
    before(async () => {
      // Production's cost: the point of this test.
      server = await startTestServer({ backend, configure: (c) => ({ ...c, passwordCost: PASSWORD_COST }) });
    });
    after(() => server.close());

    it('signs in with a hash at N = 2^15, stores it at N = 2^17 instead, and the password keeps working', async () => {
      const org = await server.createOrg('Old hashes');
      const person = await server.addUser(org.orgId, 'coach');
      const oldHash = await hashPassword(PASSWORD, OLD_COST);
      await server.store.accounts(org.orgId, (tx) => tx.setPassword(person.userId, oldHash, server.clock.now()));
      const stored = async () => (await server.store.signInCandidates(person.email)).map((c) => c.passwordHash);

      assert.equal((await signIn(server, person.email, 'not the password')).status, 401);
      assert.deepEqual(await stored(), [oldHash], 'a wrong password changes nothing');

      const first = await signIn(server, person.email, PASSWORD);
      assert.equal(first.status, 200, first.text);
      const [upgraded] = await stored();
      assert.match(upgraded!, /^scrypt\$131072\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
      assert.notEqual(upgraded, oldHash, 'the old hash is gone');
      assert.ok(!upgraded!.includes(oldHash.split('$')[4]!), 'with a new salt');

      const again = await signIn(server, person.email, PASSWORD);
      assert.equal(again.status, 200, 'the password still works');
      assert.deepEqual(await stored(), [upgraded], 'a current hash is left as it is');
      assert.equal((await signIn(server, person.email, 'still not the password')).status, 401);
    });
  });
}
