import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPassword, passwordProblem, verifyAgainstNothing, verifyPassword } from '../src/accounts/passwords.js';

describe('passwords', () => {
  it('needs at least 10 characters, counted as characters rather than bytes', () => {
    assert.match(passwordProblem('123456789')!, /at least 10 characters/);
    assert.equal(passwordProblem('1234567890'), null);
    assert.match(passwordProblem('비밀번호비밀번호비')!, /at least 10/);
    assert.equal(passwordProblem('비밀번호비밀번호비밀'), null, 'ten Korean characters are ten characters');
    assert.match(passwordProblem('😀'.repeat(9))!, /at least 10/, 'nine emoji are nine characters, not eighteen code units');
    assert.match(passwordProblem('x'.repeat(1025))!, /at most 1024/);
  });

  it('hashes with scrypt and a fresh salt each time, and verifies only the right password', async () => {
    const a = await hashPassword('a long password');
    const b = await hashPassword('a long password');
    assert.notEqual(a, b, 'salted per password');
    assert.match(a, /^scrypt\$32768\$8\$1\$/);
    assert.equal(await verifyPassword('a long password', a), true);
    assert.equal(await verifyPassword('a long passworD', a), false);
    assert.equal(await verifyPassword('a long password', 'not-a-hash'), false);
    assert.equal(await verifyPassword('é'.normalize('NFD') + 'tudiant12', await hashPassword('é'.normalize('NFC') + 'tudiant12')), true, 'the same text typed on two keyboards');
    assert.equal(await verifyAgainstNothing('anything at all'), false);
  });
});
