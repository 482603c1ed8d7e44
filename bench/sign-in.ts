import path from 'node:path';
import { createOrganization } from '../src/accounts/organizations.js';
import { hashPassword } from '../src/accounts/passwords.js';
import { signIn } from '../src/accounts/sign-in.js';
import { openStore } from '../src/store/open.js';
import { median } from './median.js';

export interface SignInTimingResult {
  rounds: number;
  wrongPasswordMedianMs: number;
  unknownEmailMedianMs: number;
  /** Unknown email ÷ wrong password: near 1 when timing does not tell whether an email exists. */
  ratio: number;
}

/**
 * A refused sign-in for a known email and for an unknown one, at the production scrypt cost: the two must cost
 * the same work. Measured here, not asserted in the suite, since timings on a shared machine vary.
 */
export async function signInTimingBench(dir: string, rounds = 7): Promise<SignInTimingResult> {
  const store = await openStore({ kind: 'sqlite', file: path.join(dir, 'sign-in.db') });
  try {
    const now = Date.now();
    const org = await createOrganization(store, { name: 'Timing', adminEmail: 'known@timing.test' }, now);
    const hash = await hashPassword('the right password');
    await store.accounts(org.orgId, (tx) => tx.setPassword(org.userId, hash, now));
    const timed = async (email: string) => {
      const start = performance.now();
      if (await signIn(store, email, 'a wrong password', null, Date.now())) throw new Error('a wrong password signed in');
      return performance.now() - start;
    };
    const wrong: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < rounds; i++) {
      wrong.push(await timed('known@timing.test'));
      unknown.push(await timed(`nobody${i}@timing.test`));
    }
    const result = { rounds, wrongPasswordMedianMs: median(wrong), unknownEmailMedianMs: median(unknown), ratio: 0 };
    result.ratio = Number((result.unknownEmailMedianMs / result.wrongPasswordMedianMs).toFixed(2));
    return result;
  } finally {
    await store.close();
  }
}
