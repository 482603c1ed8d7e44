import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Kysely, sql } from 'kysely';
import { Prepared } from '../src/store/prepared.js';
import type { Database } from '../src/store/schema.js';
import { storeBackends, type TestDatabase } from './helpers/backends.js';
import { openKysely } from './helpers/kysely.js';

/** A table outside the schema's types, for the queries under test. */
type Scratch = Kysely<{ scratch: { id: string; label: string | null; n: number } }>;
const scratch = (db: Kysely<Database>) => db as unknown as Scratch;

// One instance for both databases, as in the store: each compiles its own SQL.
const insert = new Prepared((db, row: { id: string; label: string | null; n: unknown }) =>
  scratch(db)
    .insertInto('scratch')
    .values(row as { id: string; label: string | null; n: number }),
);
const insertComputed = new Prepared((db, row: { id: string; label: string | null; n: unknown }) =>
  scratch(db)
    .insertInto('scratch')
    .values(row as { id: string; label: string | null; n: number }),
);
const byLabel = new Prepared((db, { label }: { label: string }) =>
  scratch(db).selectFrom('scratch').select(['id', 'n']).where('label', '=', label).where('n', '>', 0).orderBy('id'),
);

for (const backend of await storeBackends()) {
  describe(`queries prepared once (${backend.name})`, () => {
    let database: TestDatabase;
    let db: Kysely<Database>;

    before(async () => {
      database = await backend.create();
      ({ db } = openKysely(database.config));
      await sql`create table scratch (id text primary key, label text, n integer not null)`.execute(db);
    });
    after(async () => {
      await db.destroy();
      await database.drop();
    });

    it('runs with each call’s values in their places, and a built-in constant stays', async () => {
      await insert.execute(backend.name, db, { id: 'a', label: 'x', n: 1 });
      await insert.execute(backend.name, db, { id: 'b', label: null, n: 2 });
      // A value that is SQL is built into the query, not bound; it must be SQL at every run.
      await insertComputed.execute(backend.name, db, { id: 'c', label: 'x', n: sql`2 + 3` });
      await assert.rejects(insert.execute(backend.name, db, { id: 'z', label: 'x', n: sql`1` }), /n was compiled as a value, not SQL/);
      await insert.execute(backend.name, db, { id: 'd', label: 'x', n: 0 });
      assert.deepEqual(
        (await byLabel.execute(backend.name, db, { label: 'x' })).rows.map((r) => [r.id, Number(r.n)]),
        [
          ['a', 1],
          ['c', 5],
        ],
      );
      assert.deepEqual((await byLabel.execute(backend.name, db, { label: 'y' })).rows, []);
      const all = await scratch(db).selectFrom('scratch').select(['id', 'label']).orderBy('id').execute();
      assert.deepEqual(all, [
        { id: 'a', label: 'x' },
        { id: 'b', label: null },
        { id: 'c', label: 'x' },
        { id: 'd', label: 'x' },
      ]);
    });

    it('refuses an undefined value instead of leaving its column out', async () => {
      await assert.rejects(insert.execute(backend.name, db, { id: 'e', label: undefined as unknown as null, n: 1 }), /no value for label/);
    });

    it('runs inside a transaction and rolls back with it', async () => {
      await assert.rejects(
        db.transaction().execute(async (trx) => {
          await insert.execute(backend.name, trx, { id: 'f', label: 'x', n: 9 });
          assert.equal((await byLabel.execute(backend.name, trx, { label: 'x' })).rows.length, 3);
          throw new Error('undone');
        }),
        /undone/,
      );
      assert.equal((await byLabel.execute(backend.name, db, { label: 'x' })).rows.length, 2);
    });
  });
}
