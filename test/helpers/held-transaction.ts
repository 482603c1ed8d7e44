import type { Kysely } from 'kysely';
import type { Database } from '../../src/store/schema.js';

/** A transaction of the test's own that holds the locks `take` takes until released, as a long transaction of another's does. */
export async function heldTransaction(
  db: Kysely<Database>,
  take: (trx: Kysely<Database>) => Promise<unknown>,
): Promise<{ release(): Promise<void> }> {
  const gate = Promise.withResolvers<void>();
  const held = Promise.withResolvers<void>();
  const done = db.transaction().execute(async (trx) => {
    await take(trx);
    held.resolve();
    await gate.promise;
  });
  await Promise.race([held.promise, done]);
  return {
    release: () => {
      gate.resolve();
      return done;
    },
  };
}
