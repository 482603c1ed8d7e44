import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { pino } from 'pino';
import { type Kysely, sql } from 'kysely';
import type { ExportSession } from '../src/contract/schemas.js';
import { createOrganization } from '../src/accounts/organizations.js';
import { NamesLeftSweep } from '../src/coaching/names-left-sweep.js';
import { updateUser } from '../src/accounts/users.js';
import type { Actor } from '../src/coaching/actor.js';
import { DomainError } from '../src/coaching/errors.js';
import { describeError } from '../src/http/errors.js';
import { createPoint, createTodo, deletePoint, deleteTodo, updatePoint, updateTodo } from '../src/coaching/items.js';
import type { UserRecord } from '../src/coaching/records.js';
import { confirmSession, createSession, deleteSession, shareSession, updateSession } from '../src/coaching/sessions.js';
import { refreshSessionDocuments } from '../src/store/documents/refresh.js';
import { openStore } from '../src/store/open.js';
import type { StoreAdapter } from '../src/store/adapter.js';
import { sessionFromRow } from '../src/store/rows.js';
import type { Database } from '../src/store/schema.js';
import { ImportCommittedWithStaleNames, type Store, StoreBusyError } from '../src/store/store.js';
import { storeBackends, type TestDatabase } from './helpers/backends.js';
import { eventually } from './helpers/deadline.js';
import { planImport } from '../src/importer/plan.js';
import { session } from './helpers/fixtures.js';
import { importHeldOpen } from './helpers/held-import.js';
import { heldTransaction } from './helpers/held-transaction.js';
import { postgresAdapter } from '../src/store/postgres/adapter.js';
import { portableExport, storedExport } from './helpers/documents.js';
import { openKysely } from './helpers/kysely.js';
import { expectedStatsRows, storedStatsRows } from './helpers/stats-rows.js';

/**
 * Coaching writes edit the stored documents in their text (src/store/documents/spliced.ts) instead
 * of rendering the touched sessions whole: after every step of random edit sequences, through the
 * domain functions the API calls, every stored document is byte for byte what a full rendering
 * gives now, and every stats row holds that rendering's facts.
 */

const BASE = Date.UTC(2026, 5, 1, 9);

/** Text that looks like the document's own structure, quotes, escapes and characters beyond ASCII. */
const nasty = fc.oneof(
  fc.constantFrom(
    '',
    'a',
    '"',
    '\\',
    '","_id":"x"',
    '{"_id":"p"},',
    '],"todos":[',
    ',"activityLog":[',
    '"coachName":',
    'é 😀 中',
    '\ud800',
    '\u2028\u2029\u0001\u007f',
  ),
  fc.string({ maxLength: 12 }),
  // Any code point, lone surrogates among them; not NUL, which the API refuses before a write.
  fc.string({ unit: 'binary', maxLength: 8 }).map((s) => s.replaceAll('\0', '')),
);
const nullable = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null });

type Op =
  | { kind: 'session'; by: number; agent: number; coach: number; template: number | null; notes: string | null }
  | { kind: 'updateSession'; by: number; session: number; patch: Record<string, unknown>; people: { coach?: number; agent?: number } }
  | { kind: 'retemplate'; by: number; session: number; template: number | null }
  | { kind: 'step'; by: number; session: number; step: 'share' | 'confirm' | 'delete' }
  | { kind: 'point'; by: number; sessions: number[]; type: string; classification: string; subject: string | null }
  | { kind: 'updatePoint'; by: number; item: number; patch: Record<string, unknown> }
  | { kind: 'deletePoint'; by: number; item: number }
  | { kind: 'todo'; by: number; sessions: number[]; title: string; status: 'complete' | 'incomplete' }
  | { kind: 'updateTodo'; by: number; item: number; patch: Record<string, unknown> }
  | { kind: 'deleteTodo'; by: number; item: number }
  | { kind: 'renameTemplate'; template: number; name: string }
  | { kind: 'renameUser'; user: number; name: string };

/** Mostly the admin, who may do everything; the others are refused some steps, which must change nothing. */
const who = fc.oneof({ arbitrary: fc.constant(0), weight: 4 }, { arbitrary: fc.nat(4), weight: 1 });
const pick = fc.nat(20);
const sessionsPicked = fc.uniqueArray(pick, { minLength: 1, maxLength: 3 });
const pointType = fc.constantFrom('strength', 'opportunity', 'neutral');
const classification = fc.constantFrom('general', 'qa', 'csat', 'productivity');

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('session' as const),
    by: who,
    agent: fc.nat(1),
    coach: fc.nat(1),
    template: nullable(fc.nat(1)),
    notes: nullable(nasty),
  }),
  fc.record({
    kind: fc.constant('updateSession' as const),
    by: who,
    session: pick,
    patch: fc.record(
      {
        coachingFormName: nasty.map((s) => `Form ${s}`),
        meetingFormat: nullable(nasty.map((s) => `f${s}`)),
        meetingDate: nullable(fc.integer({ min: 0, max: 60 }).map((d) => new Date(BASE + d * 86_400_000).toISOString())),
        coachNotes: nullable(nasty),
        agentNotes: nullable(nasty),
      },
      { requiredKeys: [] },
    ),
    // A coach or agent given to the session (its names change; a new agent starts over).
    people: fc.record({ coach: fc.nat(1), agent: fc.nat(1) }, { requiredKeys: [] }),
  }),
  fc.record({ kind: fc.constant('retemplate' as const), by: who, session: pick, template: nullable(fc.nat(1)) }),
  fc.record({
    kind: fc.constant('step' as const),
    by: who,
    session: pick,
    step: fc.constantFrom('share', 'share', 'confirm', 'confirm', 'delete'),
  }),
  fc.record({
    kind: fc.constant('point' as const),
    by: who,
    sessions: sessionsPicked,
    type: pointType,
    classification,
    subject: nullable(nasty),
  }),
  fc.record({
    kind: fc.constant('updatePoint' as const),
    by: who,
    item: pick,
    patch: fc.record(
      {
        subject: nullable(nasty),
        type: pointType,
        classification,
        ticketId: nullable(nasty),
        rubricName: nullable(nasty),
        criteriaName: nullable(nasty),
        kpiName: nullable(nasty),
        score: nullable(fc.constantFrom('4', '0', '-0', '1e3', '99.50', 'n/a')),
        coachNotes: nullable(nasty),
        agentNotes: nullable(nasty),
        coachingFormIds: sessionsPicked,
      },
      { requiredKeys: [] },
    ),
  }),
  fc.record({ kind: fc.constant('deletePoint' as const), by: who, item: pick }),
  fc.record({
    kind: fc.constant('todo' as const),
    by: who,
    sessions: sessionsPicked,
    title: nasty.map((s) => `Todo ${s}`),
    status: fc.constantFrom('complete', 'incomplete'),
  }),
  fc.record({
    kind: fc.constant('updateTodo' as const),
    by: who,
    item: pick,
    patch: fc.record(
      {
        title: nasty.map((s) => `T ${s}`),
        status: fc.constantFrom('complete', 'incomplete'),
        description: nullable(nasty),
        actionString: nullable(nasty),
        type: nullable(nasty),
        link: nullable(fc.constantFrom('https://example.test/a?b="c"&d=\u00e9', 'http://example.test/')),
        coachingFormIds: sessionsPicked,
      },
      { requiredKeys: [] },
    ),
  }),
  fc.record({ kind: fc.constant('deleteTodo' as const), by: who, item: pick }),
  fc.record({ kind: fc.constant('renameTemplate' as const), template: fc.nat(1), name: nasty.map((s) => `Template ${s}`) }),
  // Anyone a document shows: the form's creator, a coach, an agent, a to-do's creator.
  fc.record({ kind: fc.constant('renameUser' as const), user: fc.nat(4), name: nasty.map((s) => `Person ${s}`) }),
);

/** Each step at a time of its own: often the same millisecond as another, sometimes before earlier steps. */
const steps = fc.array(fc.tuple(op, fc.integer({ min: 0, max: 4 })), { minLength: 5, maxLength: 40 });

for (const backend of await storeBackends()) {
  describe(`writes that cost the change (${backend.name})`, () => {
    let database: TestDatabase;
    let store: Store;
    let direct: Kysely<Database>;
    let adapter: StoreAdapter;
    let run = 0;

    before(async () => {
      database = await backend.create();
      // Logs archived past three entries: the random sequences fold them again and again.
      store = await openStore(database.config, { logFoldAt: 3 });
      ({ db: direct, adapter } = openKysely(database.config));
    });
    after(async () => {
      await direct.destroy();
      await store.close();
      await database.drop();
    });

    /** A fresh organization: its admin, two coaches, two agents and two templates. */
    async function organization() {
      run++;
      const org = await createOrganization(store, { name: `Run ${run}`, adminEmail: `admin${run}@example.test` }, BASE);
      const user = (id: string, role: UserRecord['role'], name: string): UserRecord => ({ id, email: `${id}@example.test`, name, role });
      const people = [
        { id: org.userId, email: `admin${run}@example.test`, name: 'Ada "admin"', role: 'admin' as const },
        user(`c1-${run}`, 'coach', 'Cé \\ coach'),
        user(`c2-${run}`, 'coach', 'Coach two'),
        user(`a1-${run}`, 'agent', 'Agent 😀'),
        user(`a2-${run}`, 'agent', 'Agent two'),
      ];
      for (const p of people.slice(1)) await store.createUser(org.orgId, p, BASE);
      const templates = [`t1-${run}`, `t2-${run}`];
      for (const id of templates) await store.createTemplate(org.orgId, { id, name: `Template ${id}` }, BASE);
      const actors: Actor[] = people.map((p) => ({ orgId: org.orgId, user: p, ipAddress: p.role === 'agent' ? null : '203.0.113.7' }));
      return { orgId: org.orgId, actors, people, templates };
    }

    /** A transaction of the test's own that holds the rows `lock` locks until released. */
    const holding = (lock: (trx: Kysely<Database>) => { execute(): Promise<unknown> }) =>
      heldTransaction(direct, (trx) => lock(trx).execute());

    /** Until at least `count` connections of this database wait for a lock. */
    async function waitingForLocks(count: number): Promise<void> {
      const waiting = () =>
        sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`
          .execute(direct)
          .then((result) => result.rows[0]!.n);
      await eventually(waiting, (n) => n >= count, `${count} connections waiting for a lock`);
    }

    /** A rename or import refused at once while a streamed import writes: a 503 with when to try again. */
    function assertRefusedForTheImport(failure: unknown, message: string): void {
      assert.ok(failure instanceof StoreBusyError, String(failure));
      assert.deepEqual(describeError(failure), { statusCode: 503, message, headers: { 'Retry-After': '60' } });
    }

    /**
     * A session that names the first coach and the first template anew, as another service may, and
     * the input of a session of the same coach, agent and template written beside its import.
     */
    function renamingImport(people: UserRecord[], templates: string[]) {
      const [coach, agent] = [people[1]!, people[3]!];
      const imported = session({
        ...{ coachId: coach.id, coachName: 'Coach as imported', formCreatorId: coach.id, formCreatorName: 'Coach as imported' },
        ...{ agentId: agent.id, agentName: agent.name, coachingTemplateId: templates[0]!, coachingTemplateName: 'Template as imported' },
      });
      const input = { coachingFormName: 'Beside the import', agentId: agent.id, coachId: coach.id, coachingTemplateId: templates[0]! };
      return { imported, input };
    }

    /** The names recorded to be spliced into the organization's documents (migration 013), as `kind id`. */
    async function namesToSplice(orgId: string): Promise<string[]> {
      const rows = await direct.selectFrom('names_to_splice').select(['kind', 'item_id']).where('org_id', '=', orgId).execute();
      return rows.map((row) => `${row.kind} ${row.item_id}`).sort();
    }

    async function assertCurrent(orgId: string, what: string): Promise<void> {
      const stored = await storedExport(store, orgId);
      const portable = await portableExport(store, orgId);
      if (stored !== portable) {
        let i = 0;
        while (stored[i] === portable[i]) i++;
        assert.fail(
          `after ${what}, the stored documents differ at ${i}:\n${stored.slice(i - 100, i + 100)}\n${portable.slice(i - 100, i + 100)}`,
        );
      }
      const documents = JSON.parse(portable) as ExportSession[];
      assert.deepEqual(await storedStatsRows(direct, orgId), expectedStatsRows(documents), `stats rows after ${what}`);
      // The columns an export's window is read by (an edit leaves out of its UPDATE those it keeps).
      const axes = await direct
        .selectFrom('session_documents')
        .select(['session_id', 'created_at', 'meeting_date'])
        .where('org_id', '=', orgId)
        .execute();
      const expectedAxes = new Map(
        documents.map((d) => [
          d._id,
          { createdAt: Date.parse(d.createdAt), meetingDate: d.meetingDate === null ? null : Date.parse(d.meetingDate) },
        ]),
      );
      for (const row of axes) {
        const stored = { createdAt: Number(row.created_at), meetingDate: row.meeting_date === null ? null : Number(row.meeting_date) };
        assert.deepEqual(stored, expectedAxes.get(row.session_id), `the time axes of ${row.session_id}'s document row after ${what}`);
      }
    }

    it('stores after every step exactly what a full rendering stores', async () => {
      await fc.assert(
        fc.asyncProperty(steps, async (sequence) => {
          const { orgId, actors, people, templates } = await organization();
          // Three sessions to start from, so most steps have something to change.
          const sessions: string[] = [];
          for (let i = 0; i < 3; i++) {
            const input = { coachingFormName: `Start ${i}`, agentId: people[3 + (i % 2)]!.id, coachId: people[1 + (i % 2)]!.id };
            sessions.push((await createSession(store, actors[0]!, input, BASE))._id);
          }
          const points: string[] = [];
          const todos: string[] = [];
          const at = <T>(list: T[], i: number) => list[i % Math.max(1, list.length)];
          const ids = (picked: number[]) => [...new Set(picked.map((i) => at(sessions, i)!))];
          for (const [o, seconds] of sequence) {
            const now = BASE + seconds * 1000;
            const actor = actors[o.kind === 'renameTemplate' || o.kind === 'renameUser' ? 0 : o.by]!;
            try {
              switch (o.kind) {
                case 'session': {
                  const s = await createSession(
                    store,
                    actor,
                    {
                      coachingFormName: 'Session',
                      agentId: people[3 + o.agent]!.id,
                      coachId: people[1 + o.coach]!.id,
                      coachingTemplateId: o.template === null ? null : templates[o.template]!,
                      coachNotes: o.notes,
                    },
                    now,
                  );
                  sessions.push(s._id);
                  break;
                }
                case 'updateSession': {
                  if (sessions.length === 0) break;
                  const patch = { ...o.patch };
                  if (o.people.coach !== undefined) patch.coachId = people[1 + o.people.coach]!.id;
                  if (o.people.agent !== undefined) patch.agentId = people[3 + o.people.agent]!.id;
                  if (Object.keys(patch).length > 0) await updateSession(store, actor, at(sessions, o.session)!, patch, now);
                  break;
                }
                case 'retemplate': {
                  const coachingTemplateId = o.template === null ? null : templates[o.template]!;
                  if (sessions.length > 0) await updateSession(store, actor, at(sessions, o.session)!, { coachingTemplateId }, now);
                  break;
                }
                case 'step': {
                  if (sessions.length === 0) break;
                  const id = at(sessions, o.session)!;
                  if (o.step === 'share') await shareSession(store, actor, id, now);
                  else if (o.step === 'confirm') await confirmSession(store, actor, id, now);
                  else await deleteSession(store, actor, id, now);
                  break;
                }
                case 'point': {
                  if (sessions.length === 0) break;
                  const input = { coachingFormIds: ids(o.sessions), type: o.type, classification: o.classification, subject: o.subject };
                  points.push((await createPoint(store, actor, input as never, now))._id);
                  break;
                }
                case 'updatePoint': {
                  if (points.length === 0) break;
                  const { coachingFormIds, ...rest } = o.patch;
                  const patch = coachingFormIds ? { ...rest, coachingFormIds: ids(coachingFormIds as number[]) } : rest;
                  if (Object.keys(patch).length > 0) await updatePoint(store, actor, at(points, o.item)!, patch as never, now);
                  break;
                }
                case 'deletePoint':
                  if (points.length > 0) await deletePoint(store, actor, at(points, o.item)!, now);
                  break;
                case 'todo':
                  if (sessions.length === 0) break;
                  todos.push(
                    (await createTodo(store, actor, { coachingFormIds: ids(o.sessions), title: o.title, status: o.status }, now))._id,
                  );
                  break;
                case 'updateTodo': {
                  if (todos.length === 0) break;
                  const { coachingFormIds, ...rest } = o.patch;
                  const patch = coachingFormIds ? { ...rest, coachingFormIds: ids(coachingFormIds as number[]) } : rest;
                  if (Object.keys(patch).length > 0) await updateTodo(store, actor, at(todos, o.item)!, patch as never, now);
                  break;
                }
                case 'deleteTodo':
                  if (todos.length > 0) await deleteTodo(store, actor, at(todos, o.item)!, now);
                  break;
                case 'renameTemplate':
                  await store.renameTemplate(orgId, templates[o.template]!, o.name, now);
                  break;
                case 'renameUser':
                  await store.accounts(orgId, (tx) => tx.updateUser(people[o.user]!.id, { name: o.name }, now));
                  break;
              }
            } catch (error) {
              // A refused step (no permission, deleted, not found) changes nothing; the documents are checked all the same.
              if (!(error instanceof DomainError)) throw error;
            }
            await assertCurrent(orgId, `${JSON.stringify(o)} at +${seconds}s`);
          }
        }),
        { numRuns: Number(process.env.SPLICE_RUNS ?? 40) },
      );
    });

    async function storedDocument(orgId: string, sessionId: string): Promise<string> {
      const row = await direct
        .selectFrom('session_documents_full')
        .select('doc')
        .where('org_id', '=', orgId)
        .where('session_id', '=', sessionId)
        .executeTakeFirstOrThrow();
      return typeof row.doc === 'string' ? row.doc : row.doc.toString('utf8');
    }

    /** The session's document row and archive row as stored: log entries in each, and whether the row says it has an archive. */
    async function logParts(orgId: string, sessionId: string) {
      const row = await direct
        .selectFrom('session_documents')
        .select(['doc', 'log_archived'])
        .where('org_id', '=', orgId)
        .where('session_id', '=', sessionId)
        .executeTakeFirstOrThrow();
      const archive = await direct
        .selectFrom('session_log_archive')
        .select(['entries', 'bytes', 'log'])
        .where('org_id', '=', orgId)
        .where('session_id', '=', sessionId)
        .executeTakeFirst();
      const text = typeof row.doc === 'string' ? row.doc : row.doc.toString('utf8');
      const inRow = (JSON.parse(text) as { activityLog: unknown[] }).activityLog.length;
      if (archive) assert.equal(Number(archive.bytes), Buffer.byteLength(archive.log), 'the archive counts its bytes');
      if (archive) assert.equal(Number(archive.entries), (JSON.parse(`[${archive.log}]`) as unknown[]).length, 'and its entries');
      return { inRow, flagged: Number(row.log_archived) === 1, archived: archive ? Number(archive.entries) : null };
    }

    it('sets right, at the session’s next write, a name that a rename beside its last write missed', async () => {
      const { orgId, actors, people, templates } = await organization();
      const admin = actors[0]!;
      const input = { coachingFormName: 'Raced', agentId: people[3]!.id, coachId: people[1]!.id, coachingTemplateId: templates[0]! };
      const session = (await createSession(store, admin, input, BASE))._id;
      // What a rename leaves on PostgreSQL when it commits while the write that stored this document
      // has not: the names changed in the tables, the document still showing the old ones.
      for (const [table, id] of [
        ['users', people[1]!.id],
        ['users', people[3]!.id],
        ['users', admin.user.id],
        ['coaching_templates', templates[0]!],
      ] as const) {
        await direct
          .updateTable(table)
          .set({ name: `Renamed beside ${id}` })
          .where('org_id', '=', orgId)
          .where('id', '=', id)
          .execute();
      }
      assert.notEqual(await storedExport(store, orgId), await portableExport(store, orgId));
      await createPoint(store, admin, { coachingFormIds: [session], type: 'strength', classification: 'qa' }, BASE + 1_000);
      await assertCurrent(orgId, 'a point added after the missed renames');
    });

    if (backend.name === 'postgres') {
      it('shows a rename made while a write that links a session to the renamed person or template had read the old name', async () => {
        const { orgId, actors, people, templates } = await organization();
        const [admin, coach] = [actors[0]!, actors[1]!];
        const input = (coachId: string) => ({
          coachingFormName: 'Linked',
          agentId: people[3]!.id,
          coachId,
          coachingTemplateId: templates[0]!,
        });
        const cases = [
          {
            // A to-do of another session, made by the coach, linked to this one: this document then shows its creator.
            what: 'person',
            link: async (session: string) => {
              const theirs = (await createSession(store, admin, input(coach.user.id), BASE))._id;
              const task = (await createTodo(store, coach, { coachingFormIds: [theirs], title: 'Shared', status: 'incomplete' }, BASE))._id;
              return () => updateTodo(store, admin, task, { coachingFormIds: [theirs, session] }, BASE + 1_000);
            },
            rename: () => updateUser(store, admin, coach.user.id, { name: 'Renamed while linked' }, BASE + 2_000),
          },
          {
            what: 'template',
            link: async (session: string) => () =>
              updateSession(store, admin, session, { coachingTemplateId: templates[1]! }, BASE + 1_000),
            rename: () => store.renameTemplate(orgId, templates[1]!, 'Renamed while linked', BASE + 2_000),
          },
        ];
        for (const { what, link, rename } of cases) {
          // Shows neither the coach nor the second template until the write.
          const session = (await createSession(store, admin, input(people[2]!.id), BASE))._id;
          const write = await link(session);
          // The write is held where it stores the document, after it has read the names it shows: a
          // connection of the test's own holds the document's row.
          const holder = await holding((trx) =>
            trx
              .selectFrom('session_documents')
              .select('session_id')
              .where('org_id', '=', orgId)
              .where('session_id', '=', session)
              .forUpdate(),
          );
          const linked = write();
          let renamed: Promise<unknown> = Promise.resolve();
          let waited = false;
          try {
            await waitingForLocks(1);
            renamed = rename();
            // The rename waits too, for the write whose turn it is (were it not, it would end first).
            waited = await Promise.race([renamed.then(() => false), waitingForLocks(2).then(() => true)]);
          } finally {
            await holder.release();
          }
          await Promise.all([linked, renamed]);
          assert.ok(waited, `the rename of the ${what} waited for the write that had read the name it changes`);
          await assertCurrent(orgId, `a rename beside a write that linked a session to the renamed ${what}`);
        }
      });

      it('gives up a rename stuck behind a long transaction with a 503, and the writes queued behind it then go on', async () => {
        const { orgId, actors, people, templates } = await organization();
        const admin = actors[0]!;
        const input = { coachingFormName: 'Queued', agentId: people[3]!.id, coachId: people[1]!.id, coachingTemplateId: templates[0]! };
        const session = (await createSession(store, admin, input, BASE))._id;
        // The template's row held by a long transaction of another's.
        const holder = await holding((trx) =>
          trx.selectFrom('coaching_templates').select('id').where('org_id', '=', orgId).where('id', '=', templates[0]!).forUpdate(),
        );
        try {
          const renaming = store.renameTemplate(orgId, templates[0]!, 'Never shown', BASE + 1_000).then(
            () => null,
            (error: unknown) => error,
          );
          await waitingForLocks(1);
          // Queued behind the rename's lock while the rename waits for the row.
          const written = updateSession(store, admin, session, { coachNotes: 'After the rename gave up' }, BASE + 2_000);
          const queued = await Promise.race([waitingForLocks(2).then(() => true), renaming.then(() => false)]);
          assert.ok(queued, 'the write waits behind the rename');
          const failure = await renaming;
          assert.equal((failure as { code?: string } | null)?.code, '55P03', String(failure));
          assert.deepEqual(describeError(failure), {
            statusCode: 503,
            message: 'The service is temporarily unavailable; try again shortly.',
            headers: { 'Retry-After': '1' },
          });
          // Before the long transaction ends.
          await written;
        } finally {
          await holder.release();
        }
        await assertCurrent(orgId, 'a rename given up');
        const names = await direct.selectFrom('coaching_templates').select('name').where('org_id', '=', orgId).execute();
        assert.ok(!names.some((t) => t.name === 'Never shown'));
      });

      it('refuses a rename while an import writes, with a 503, and takes it once the import has committed', async () => {
        const { orgId, actors, people, templates } = await organization();
        const held = await importHeldOpen(store, orgId, BASE);
        let failure: unknown;
        try {
          failure = await store.renameTemplate(orgId, templates[0]!, 'Renamed during the import', BASE + 1_000).then(
            () => null,
            (error: unknown) => error,
          );
          // A person's change that resends the name unchanged is no rename: taken while the import writes.
          const coach = people[1]!;
          assert.equal((await updateUser(store, actors[0]!, coach.id, { name: coach.name, role: 'coach' }, BASE + 1_500)).name, coach.name);
        } finally {
          await held.finish();
        }
        // At once, not after the wait for locks: the organization's writes would queue behind it meanwhile.
        assertRefusedForTheImport(
          failure,
          'An import is writing to this organization; renames wait until it has committed. Try again later.',
        );
        assert.equal(await store.renameTemplate(orgId, templates[0]!, 'Renamed after the import', BASE + 2_000), true);
        await assertCurrent(orgId, 'a rename after an import');
      });

      // Bounded: an import that waited for the streamed one (the fault tested) would wait here for good.
      const bounded = { timeout: 30_000 };
      it('refuses an import sent to the server while a streamed import writes, with a 503, then takes it', bounded, async () => {
        const { orgId } = await organization();
        const planned = planImport([session({ coachingFormName: 'Sent to the server' })]);
        assert.ok(planned.ok);
        const held = await importHeldOpen(store, orgId, BASE);
        let failure: unknown;
        try {
          failure = await store.applyImport(orgId, planned.plan, BASE + 1_000).then(
            () => null,
            (error: unknown) => error,
          );
        } finally {
          await held.finish();
        }
        assertRefusedForTheImport(
          failure,
          'An import is writing to this organization; another waits until it has committed. Try again later.',
        );
        assert.equal((await store.applyImport(orgId, planned.plan, BASE + 2_000)).sessions, 1);
        await assertCurrent(orgId, 'an import after a streamed one');
      });

      it("shows an import's renames in the documents written beside it, once it has committed", async () => {
        for (const before of ['an empty organization', 'an organization with sessions']) {
          const { orgId, actors, people, templates } = await organization();
          const admin = actors[0]!;
          const { imported, input } = renamingImport(people, templates);
          if (before !== 'an empty organization') await createSession(store, admin, { ...input, coachingFormName: 'Before' }, BASE);
          const held = await importHeldOpen(store, orgId, BASE, [imported]);
          let beside: string;
          try {
            // Reads the names as committed: the import's are not yet.
            beside = (await createSession(store, admin, input, BASE + 1_000))._id;
          } finally {
            await held.finish();
          }
          await assertCurrent(orgId, `an import's renames beside a write, into ${before}`);
          const shown = (JSON.parse(await storedExport(store, orgId)) as ExportSession[]).find((d) => d._id === beside)!;
          assert.deepEqual([shown.coachName, shown.coachingTemplateName], ['Coach as imported', 'Template as imported'], before);
          // Spliced again after the commit, in a transaction of its own; the import's own document,
          // which showed the names already, keeps the import's transaction and its place in the feed.
          const written = await direct
            .selectFrom('session_documents')
            .select(['session_id', sql<string>`xid::text`.as('xid')])
            .where('org_id', '=', orgId)
            .where('session_id', 'in', [beside, imported._id])
            .execute();
          const xid = new Map(written.map((row) => [row.session_id, row.xid]));
          assert.notEqual(xid.get(imported._id), xid.get(beside), before);
        }
      });

      it("an import's renames that a long transaction keeps from a document: the import stays committed, and says so", async () => {
        const { orgId, actors, people, templates } = await organization();
        const [admin, coach] = [actors[0]!, people[1]!];
        const { imported, input } = renamingImport(people, templates);
        const held = await importHeldOpen(store, orgId, BASE, [imported]);
        let beside: string;
        try {
          beside = (await createSession(store, admin, input, BASE + 1_000))._id;
        } catch (error) {
          await held.finish();
          throw error;
        }
        // Held past the splice's three tries of 5 s: the coach's splice gives up, the template's is not tried.
        const holder = await holding((trx) =>
          trx.selectFrom('coaching_sessions').select('id').where('org_id', '=', orgId).where('id', '=', beside).forUpdate(),
        );
        let outcome: unknown;
        try {
          outcome = await held.finish().then(
            () => 'finished',
            (error: unknown) => error,
          );
        } finally {
          await holder.release();
        }
        assert.ok(outcome instanceof ImportCommittedWithStaleNames, String(outcome));
        assert.equal(outcome.result, 1);
        assert.equal(
          outcome.message,
          'The import has committed, but 2 names it changed could not be spliced into the documents written beside it ' +
            '(another transaction held a lock they need for longer than a rename waits): a session written while it ran ' +
            'may show an earlier name until a running coachport serve splices it (it tries every minute, less often while they stay held).',
        );
        const shown = JSON.parse(await storedExport(store, orgId)) as ExportSession[];
        assert.deepEqual(shown.find((d) => d._id === imported._id)?.coachName, 'Coach as imported');
        assert.equal(shown.find((d) => d._id === beside)?.coachName, coach.name);
        // Both names are still recorded, the one whose splice gave up and the one not tried, as they
        // would be had the import's process died after its commit; a server's sweep splices them.
        assert.deepEqual(await namesToSplice(orgId), [`template ${templates[0]!}`, `user ${coach.id}`]);
        const logged: string[] = [];
        const logger = pino({ level: 'info' }, { write: (line: string) => void logged.push(line) });
        await new NamesLeftSweep(store, logger).once();
        const swept = (JSON.parse(await storedExport(store, orgId)) as ExportSession[]).find((d) => d._id === beside)!;
        assert.deepEqual([swept.coachName, swept.coachingTemplateName], ['Coach as imported', 'Template as imported']);
        assert.deepEqual(await namesToSplice(orgId), []);
        assert.match(logged.join(''), /"spliced":\d+,"left":0,"msg":"spliced names an import had left"/);
        await assertCurrent(orgId, 'names an import left, spliced by the sweep');
      });

      it("splices a streamed import's names while a second import of the organization waits for its turn", bounded, async () => {
        const { orgId, actors, people, templates } = await organization();
        const { imported, input } = renamingImport(people, templates);
        const planned = planImport([session({ coachingFormName: 'The second import' })]);
        assert.ok(planned.ok);
        const first = await importHeldOpen(store, orgId, BASE, [imported]);
        let beside: string;
        let second: Promise<number> | null = null;
        try {
          beside = (await createSession(store, actors[0]!, input, BASE + 1_000))._id;
          second = store.importBatches(
            orgId,
            (async function* () {
              yield planned.plan;
            })(),
            BASE + 2_000,
          );
          // Queued for the organization's import lock, which the first holds.
          await waitingForLocks(1);
        } finally {
          // Committed, and its names spliced: not refused for the import waiting behind it.
          await first.finish();
        }
        assert.equal(await second, 1);
        assert.deepEqual(await namesToSplice(orgId), []);
        const shown = (JSON.parse(await storedExport(store, orgId)) as ExportSession[]).find((d) => d._id === beside)!;
        assert.deepEqual([shown.coachName, shown.coachingTemplateName], ['Coach as imported', 'Template as imported']);
        await assertCurrent(orgId, 'two streamed imports in turn');
      });

      it("leaves an import's names to a streamed import that began writing before it could splice them", bounded, async () => {
        const { orgId, people, templates } = await organization();
        const coach = people[1]!;
        const { imported } = renamingImport(people, templates);
        const planned = planImport([imported]);
        assert.ok(planned.ok);
        // A coaching write under way keeps the names lock: the server's import commits, and its splice waits.
        const write = await heldTransaction(direct, (trx) => postgresAdapter.lockNames(trx, orgId, 'write'));
        let streamed: Awaited<ReturnType<typeof importHeldOpen>> | null = null;
        try {
          let outcome: unknown;
          try {
            const sent = store.applyImport(orgId, planned.plan, BASE).then(
              () => 'answered',
              (error: unknown) => error,
            );
            await waitingForLocks(1);
            // Waits for the import lock while the splice's first try waits, takes it when that try gives
            // up, and renames the coach again.
            const again = session({
              ...imported,
              _id: 'streamed-after',
              coachName: 'Coach imported again',
              formCreatorName: 'Coach imported again',
            });
            streamed = await importHeldOpen(store, orgId, BASE + 1_000, [again]);
            await write.release();
            outcome = await sent;
          } finally {
            await write.release();
          }
          assert.ok(outcome instanceof ImportCommittedWithStaleNames, String(outcome));
          assert.match(
            outcome.message,
            /^The import has committed, but 2 names it changed .* \(another import is writing to this organization\)/,
          );
          // Still recorded for the streamed import, which renamed the coach again and splices it once it has committed.
          assert.deepEqual(await namesToSplice(orgId), [`template ${templates[0]!}`, `user ${coach.id}`]);
        } finally {
          await streamed?.finish();
        }
        assert.deepEqual(await namesToSplice(orgId), [`template ${templates[0]!}`]);
        await store.spliceNamesLeft();
        assert.deepEqual(await namesToSplice(orgId), []);
        await assertCurrent(orgId, 'a streamed import after the server’s');
      });

      it('waits twice as long after each sweep that finds the names held, and splices them once they are free', bounded, async () => {
        const { orgId, people } = await organization();
        const left = `user ${people[2]!.id}`;
        // The sweep reads every organization's names: none but this one's, or its counts are another test's too.
        const earlier = await direct.selectFrom('names_to_splice').select('org_id').execute();
        assert.deepEqual(earlier, [], 'names an earlier test left');
        await direct.insertInto('names_to_splice').values({ org_id: orgId, kind: 'user', item_id: people[2]!.id }).execute();
        const held = await importHeldOpen(store, orgId, BASE);
        const passes: Array<{ at: number; line: string }> = [];
        const logger = pino({ level: 'info' }, { write: (line: string) => void passes.push({ at: performance.now(), line }) });
        const reported: number[] = [];
        const sweep = new NamesLeftSweep(store, logger, { everyMs: 50, onPass: (left) => reported.push(left) });
        try {
          try {
            sweep.start();
            await eventually(
              async () => passes.length,
              (n) => n >= 5,
              'five sweeps of a held name',
            );
          } finally {
            await held.finish();
          }
          const heldPasses = passes.slice(0, 5);
          assert.ok(
            heldPasses.every((p) => p.line.includes('names an import changed are still to be spliced')),
            heldPasses[0]!.line,
          );
          // Timers only ever fire late: each wait at least twice the one before.
          const waits = heldPasses.slice(1).map((p, i) => p.at - heldPasses[i]!.at);
          for (const [i, wait] of waits.entries()) assert.ok(wait >= 50 * 2 ** (i + 1) - 5, `wait ${i + 1}: ${waits.join(', ')} ms`);
          await eventually(
            () => namesToSplice(orgId),
            (names) => !names.includes(left),
            'the name spliced once the import has gone',
          );
        } finally {
          await sweep.stop();
        }
        // What the server's metric shows: the name left at each pass while held, none once spliced.
        assert.deepEqual(reported.slice(0, 5), [1, 1, 1, 1, 1]);
        assert.equal(reported.at(-1), 0);
        const passesAtStop = reported.length;
        await sleep(200);
        assert.equal(reported.length, passesAtStop, 'no pass after stop');
        await assertCurrent(orgId, 'a name spliced by the sweep');
      });

      it(
        'passes over, in its sweep, an organization a streamed import writes to; that import splices the names it recorded',
        bounded,
        async () => {
          const { orgId, actors, people, templates } = await organization();
          const { imported, input } = renamingImport(people, templates);
          const left = `user ${people[2]!.id}`;
          const held = await importHeldOpen(store, orgId, BASE, [imported]);
          let beside: string;
          try {
            beside = (await createSession(store, actors[0]!, input, BASE + 1_000))._id;
            // Recorded in the import's transaction: not there for anyone else until it commits.
            assert.deepEqual(await namesToSplice(orgId), []);
            await direct.insertInto('names_to_splice').values({ org_id: orgId, kind: 'user', item_id: people[2]!.id }).execute();
            await store.spliceNamesLeft();
            assert.deepEqual(await namesToSplice(orgId), [left], 'passed over while the import writes');
          } finally {
            await held.finish();
          }
          // The import spliced the names it recorded; one an earlier import left is the sweep's.
          assert.deepEqual(await namesToSplice(orgId), [left]);
          const shown = (JSON.parse(await storedExport(store, orgId)) as ExportSession[]).find((d) => d._id === beside)!;
          assert.deepEqual([shown.coachName, shown.coachingTemplateName], ['Coach as imported', 'Template as imported']);
          await store.spliceNamesLeft();
          assert.deepEqual(await namesToSplice(orgId), []);
          await assertCurrent(orgId, 'an import beside a name left');
        },
      );
    }

    it('keeps the older entries of a long log apart, and a document written whole takes them back', async () => {
      const { orgId, actors, people } = await organization();
      const admin = actors[0]!;
      const input = { coachingFormName: 'Long', agentId: people[3]!.id, coachId: people[1]!.id };
      const id = (await createSession(store, admin, input, BASE))._id;
      for (let i = 1; i <= 10; i++) await updateSession(store, admin, id, { coachNotes: `Note ${i}` }, BASE + i * 1000);
      let parts = await logParts(orgId, id);
      assert.ok(parts.flagged && parts.archived !== null && parts.inRow <= 3, JSON.stringify(parts));
      assert.equal(parts.archived! + parts.inRow, 11);
      await assertCurrent(orgId, 'ten changes, folded');
      // The acknowledgement time reads the whole log, its archived share included.
      await shareSession(store, admin, id, BASE + 20_000);
      for (let i = 0; i < 4; i++) await updateSession(store, admin, id, { agentNotes: `Seen ${i}` }, BASE + 21_000 + i);
      await confirmSession(store, actors[3]!, id, BASE + 30_000);
      await assertCurrent(orgId, 'shared and confirmed across a fold');

      await direct.transaction().execute((trx) => refreshSessionDocuments(trx, adapter, orgId, [id]));
      parts = await logParts(orgId, id);
      assert.deepEqual({ flagged: parts.flagged, archived: parts.archived }, { flagged: false, archived: null }, 'rendered whole again');
      await assertCurrent(orgId, 'a whole rendering');

      await updateSession(store, admin, id, { coachNotes: 'Folded again' }, BASE + 40_000);
      assert.ok((await logParts(orgId, id)).flagged, 'the next change folds the log again');
      const row = await direct
        .selectFrom('coaching_sessions')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      const replaced = { ...sessionFromRow(row), coachingFormName: 'Imported over' };
      const log = [
        { userId: admin.user.id, userEmail: null, actionType: 'created', descriptions: ['imported'], timestamp: BASE, ipAddress: null },
      ];
      const plan = {
        users: [],
        templates: [],
        sessions: [{ session: replaced, log, pointIds: [], todoIds: [] }],
        points: [],
        todos: [],
      };
      await store.applyImport(orgId, plan, BASE + 50_000);
      parts = await logParts(orgId, id);
      assert.deepEqual(parts, { inRow: 1, flagged: false, archived: null }, 'an import writes the document whole');
      await assertCurrent(orgId, 'an import over an archived log');
    });

    it('edits the stored text of the sessions a write touches instead of rendering them again', async () => {
      const { orgId, actors, people } = await organization();
      const admin = actors[0]!;
      const input = { coachingFormName: 'Kept', agentId: people[3]!.id, coachId: people[1]!.id };
      const session = (await createSession(store, admin, input, BASE))._id;
      // A mark no rendering writes, put into the stored log: it stays only while writes edit the text.
      const MARK = 'created (marked)';
      const marked = (await storedDocument(orgId, session)).replace('created"]', `${MARK}"]`);
      await direct
        .updateTable('session_documents')
        .set({ doc: adapter.documentValue(marked) })
        .where('org_id', '=', orgId)
        .where('session_id', '=', session)
        .execute();
      const point = (await createPoint(store, admin, { coachingFormIds: [session], type: 'strength', classification: 'qa' }, BASE + 1))._id;
      const todo = (await createTodo(store, admin, { coachingFormIds: [session], title: 'Read' }, BASE + 2))._id;
      const writes: Array<[string, () => Promise<unknown>]> = [
        ['a point added', async () => undefined],
        ['a point changed', () => updatePoint(store, admin, point, { subject: 'Tone' }, BASE + 3)],
        ['a to-do completed', () => updateTodo(store, admin, todo, { status: 'complete' }, BASE + 4)],
        ['the session changed', () => updateSession(store, admin, session, { coachNotes: 'Good' }, BASE + 5)],
        ['the session shared', () => shareSession(store, admin, session, BASE + 6)],
        ['a point deleted', () => deletePoint(store, admin, point, BASE + 7)],
        ['a to-do deleted', () => deleteTodo(store, admin, todo, BASE + 8)],
      ];
      for (const [what, write] of writes) {
        await write();
        const stored = await storedDocument(orgId, session);
        assert.ok(stored.includes(MARK), `after ${what}, the document was rendered again instead of edited`);
        // Everything but the mark is what a full rendering gives.
        assert.equal(stored.replace(MARK, 'created'), JSON.stringify(await store.readSession(orgId, session)), `after ${what}`);
      }
    });
  });
}
