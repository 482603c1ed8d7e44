import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { canRead } from '../src/coaching/permissions.js';
import { SESSION_STATES, stateFlags, type SessionState } from '../src/coaching/session-list.js';
import type { ExportSession } from '../src/contract/schemas.js';
import type { Role } from '../src/accounts/roles.js';
import { storeBackends } from './helpers/backends.js';
import { session } from './helpers/fixtures.js';
import { startTestServer, type TestServer } from './helpers/server.js';

interface Person {
  userId: string;
  token: string;
  role: Role;
  name: string;
}

/** The list's rules restated plainly: what the server must answer, computed from the documents. */
function expected(
  docs: ExportSession[],
  who: Person,
  filters: { state?: SessionState; agentId?: string; coachId?: string; from?: string; to?: string },
) {
  const flags = stateFlags(filters.state ?? null);
  return docs
    .filter((d) => canRead({ id: who.userId, email: null, name: who.name, role: who.role }, { ...d, formCreatorId: d.formCreatorId }))
    .filter((d) => d.isDeleted === flags.isDeleted)
    .filter((d) => flags.sharedWithAgent === undefined || d.sharedWithAgent === flags.sharedWithAgent)
    .filter((d) => flags.agentConfirmed === undefined || d.agentConfirmed === flags.agentConfirmed)
    .filter((d) => flags.coachConfirmed === undefined || d.coachConfirmed === flags.coachConfirmed)
    .filter((d) => !filters.agentId || d.agentId === filters.agentId)
    .filter((d) => !filters.coachId || d.coachId === filters.coachId)
    .filter((d) => !filters.from || d.createdAt.slice(0, 10) >= filters.from)
    .filter((d) => !filters.to || d.createdAt.slice(0, 10) <= filters.to)
    .sort((a, b) => (a.createdAt === b.createdAt ? (a._id < b._id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1))
    .map((d) => d._id);
}

for (const backend of await storeBackends()) {
  describe(`the sessions list and the directory (${backend.name})`, () => {
    let server: TestServer;
    let people: Record<'admin' | 'coachA' | 'coachB' | 'agentX' | 'agentY', Person>;
    let docs: ExportSession[];

    before(async () => {
      server = await startTestServer({ backend });
      const org = await server.createOrg('Lists');
      const add = async (role: Role, name: string): Promise<Person> => ({ ...(await server.addUser(org.orgId, role, name)), role, name });
      people = {
        admin: { userId: org.userId, token: org.token, role: 'admin', name: 'Lists Admin' },
        coachA: await add('coach', 'Ana Coach'),
        coachB: await add('coach', 'Ben Coach'),
        agentX: await add('agent', 'Xia Agent'),
        agentY: await add('agent', 'Yves Agent'),
      };
      await server.request('POST', '/api/v1/coaching-templates', { token: org.token, body: { name: 'Unused' } });
      // 45 sessions: every mix of coach, creator, agent and state, several sharing one createdAt.
      const coaches = [people.coachA, people.coachB];
      const creators = [people.coachA, people.coachB, people.admin];
      const agents = [people.agentX, people.agentY];
      docs = Array.from({ length: 45 }, (_, i) => {
        const coach = coaches[i % 2]!;
        const creator = creators[i % 3]!;
        const agent = agents[Math.floor(i / 2) % 2]!;
        const stage = i % 5;
        return session({
          coachId: coach.userId,
          coachName: coach.name,
          formCreatorId: creator.userId,
          formCreatorName: creator.name,
          agentId: agent.userId,
          agentName: agent.name,
          createdAt: `2024-02-${String(1 + Math.floor(i / 3)).padStart(2, '0')}T10:00:00.000Z`,
          sharedWithAgent: stage >= 1,
          agentConfirmed: stage >= 2 && stage !== 4,
          coachConfirmed: stage === 3,
          isDeleted: stage === 4 && i % 2 === 0,
        });
      });
      const imported = await server.request('POST', '/api/v1/coaching-sessions/import', { token: org.token, body: docs });
      assert.equal(imported.status, 200, imported.text);
    });
    after(() => server.close());

    async function walk(who: Person, query: string, limit: number): Promise<string[]> {
      const ids: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 100; pages++) {
        const reply = await server.request('GET', `/api/v1/coaching/sessions?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`, {
          token: who.token,
        });
        assert.equal(reply.status, 200, reply.text);
        assert.ok(reply.json.sessions.length <= limit);
        ids.push(...reply.json.sessions.map((s: { _id: string }) => s._id));
        assert.equal(reply.json.hasMore, reply.json.cursor !== null);
        if (!reply.json.hasMore) return ids;
        cursor = reply.json.cursor;
      }
      throw new Error('did not end');
    }

    it('pages every role through exactly the sessions it may read, in every state, newest first', async () => {
      let checked = 0;
      for (const who of Object.values(people)) {
        for (const state of [undefined, ...SESSION_STATES]) {
          const want = expected(docs, who, { state });
          const got = await walk(who, state ? `&state=${state}` : '', 4);
          assert.deepEqual(got, want, `${who.name}, state ${state ?? '(none)'}`);
          checked += want.length;
        }
      }
      assert.ok(checked > 100, `checked ${checked} listed sessions`);
    });

    it('filters by agent, coach and createdAt days, and pages with the filters', async () => {
      const cases = [
        { agentId: people.agentX.userId },
        { coachId: people.coachB.userId, state: 'shared' as const },
        { from: '2024-02-03', to: '2024-02-07' },
        { from: '2024-02-10', agentId: people.agentY.userId },
        { to: '2024-02-02' },
      ];
      for (const filters of cases) {
        const query = Object.entries(filters)
          .map(([k, v]) => `&${k}=${v}`)
          .join('');
        for (const who of [people.admin, people.coachA, people.agentX]) {
          const want = expected(docs, who, filters);
          assert.deepEqual(await walk(who, query, 3), want, `${who.name} ${query}`);
        }
      }
      assert.ok(expected(docs, people.admin, cases[2]!).length > 0);
    });

    it('answers the summary shape with names, and the default page of 25', async () => {
      const reply = await server.request('GET', '/api/v1/coaching/sessions', { token: people.admin.token });
      assert.equal(reply.json.sessions.length, 25);
      assert.equal(reply.json.hasMore, true);
      const first = reply.json.sessions[0];
      const doc = docs.find((d) => d._id === first._id)!;
      assert.deepEqual(first, {
        _id: doc._id,
        coachingFormName: doc.coachingFormName,
        coachingTemplateName: doc.coachingTemplateName,
        coachId: doc.coachId,
        coachName: doc.coachName,
        agentId: doc.agentId,
        agentName: doc.agentName,
        meetingDate: doc.meetingDate,
        createdAt: doc.createdAt,
        updatedAt: doc.updatedAt,
        sharedWithAgent: doc.sharedWithAgent,
        agentConfirmed: doc.agentConfirmed,
        coachConfirmed: doc.coachConfirmed,
        isDeleted: doc.isDeleted,
      });
    });

    it('refuses a bad limit, a forged cursor, an unknown state and reversed days with 400', async () => {
      for (const query of [
        'limit=0',
        'limit=101',
        'cursor=bm90LWEta2V5',
        'state=archived',
        'from=2024-02-05&to=2024-02-01',
        'from=2024-02-30',
      ]) {
        const reply = await server.request('GET', `/api/v1/coaching/sessions?${query}`, { token: people.admin.token });
        assert.equal(reply.status, 400, query);
        assert.deepEqual(Object.keys(reply.json), ['error']);
      }
    });

    it('lists the active people of the organization for everyone, without emails', async () => {
      const off = await server.addUser((await server.store.listOrganizations())[0]!.id, 'agent', 'Gone Agent');
      await server.request('PATCH', `/api/v1/users/${off.userId}`, { token: people.admin.token, body: { active: false } });
      const reply = await server.request('GET', '/api/v1/directory', { token: people.agentX.token });
      assert.equal(reply.status, 200);
      assert.deepEqual(
        reply.json.users.map((u: { name: string; role: string }) => `${u.name}/${u.role}`),
        ['Ana Coach/coach', 'Ben Coach/coach', 'Lists Admin/admin', 'Xia Agent/agent', 'Yves Agent/agent'],
      );
      assert.doesNotMatch(reply.text, /@/);
      assert.deepEqual(Object.keys(reply.json.users[0]).sort(), ['id', 'name', 'role']);
    });
  });
}
